// Scenario "bridge-only": the homeserver is the in-process fake, so the numbers are the bridge's (and the
// gatekeeper's) alone. The bridge is a child process, as in production, so its CPU and memory are its own.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { puppetUserId } from "../src/config/identities.js";
import { providerPublicKey } from "../src/config/provider-key.js";
import { generateRegistration, renderRegistration } from "../src/config/registration.js";
import { makeTestConfig } from "../test/harness/config.js";
import { freePort } from "../test/harness/free-port.js";
import { BridgeProcess } from "../test/e2e/bridge-process.js";
import type { CleanupStack } from "./cleanup.js";
import { FakeHomeserver } from "./fake-homeserver.js";
import { FakeHomeserverUser } from "./fake-homeserver-user.js";
import { benchProcess, childProcess, measureBothDirections, type DirectionResult, type MeasureOptions } from "./measure.js";
import { benchContacts, WhatsAppSide } from "./whatsapp-side.js";

const SERVER_NAME = "localhost";

export async function runBridgeOnly(o: Omit<MeasureOptions, "scenario"> & { chats: number }, cleanup: CleanupStack, progress: (line: string) => void): Promise<DirectionResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "mdb-bench-"));
  cleanup.add("the bench directory", () => rmSync(dir, { recursive: true, force: true }));

  progress("starting the reference gatekeeper");
  const whatsapp = await WhatsAppSide.start(benchContacts(o.chats));
  cleanup.add("the gatekeeper", () => whatsapp.stop());

  const registrationPath = join(dir, "registration.yaml");
  // The fake homeserver's URL is known only once it listens; everything else in the config is settled before.
  const draft = makeTestConfig({
    homeserverUrl: "http://127.0.0.1:9",
    domain: SERVER_NAME,
    appservicePort: await freePort(),
    registrationPath,
    dataDir: dir,
    gatekeeperUrl: whatsapp.url,
    overrides: { bridge: { encryption: { default: o.encrypted, allow: true } } },
  });
  const registration = generateRegistration(draft);
  writeFileSync(registrationPath, renderRegistration(registration), { mode: 0o600 });

  const hs = await FakeHomeserver.start({ serverName: SERVER_NAME, registration });
  cleanup.add("the fake homeserver", () => hs.close());
  const config = { ...draft, homeserver: { ...draft.homeserver, url: hs.url } };
  await whatsapp.enlist(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), SERVER_NAME);

  progress(`starting the bridge (homeserver: fake at ${hs.url})`);
  const bridge = new BridgeProcess(config, dir);
  cleanup.add("the bridge", () => bridge.stop());
  await bridge.start();

  const matrix = await FakeHomeserverUser.create(hs, `@benchuser:${SERVER_NAME}`, { encrypted: o.encrypted });
  cleanup.add("the Matrix user", () => matrix.stop());
  return measureBothDirections(
    {
      bridge,
      matrix,
      whatsapp,
      puppetUserId: (phone) => puppetUserId(config, phone),
      others: [childProcess("gatekeeper", "node", "gatekeeper/cli.js"), benchProcess("bench process (load, fake homeserver)")],
      problems: () => [...hs.allProblems(), ...matrix.problems],
      progress,
    },
    { ...o, scenario: "bridge-only" },
  );
}
