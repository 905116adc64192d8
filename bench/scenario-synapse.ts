// Scenario "synapse": a real Synapse between the Matrix user (matrix-js-sdk, syncing) and the bridge process.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { puppetUserId } from "../src/config/identities.js";
import { providerPublicKey } from "../src/config/provider-key.js";
import type { BridgeConfig } from "../src/config/schema.js";
import { getTestEnv, stopTestEnv } from "../test/harness/fixture.js";
import { canRunLocalSynapse, ensureSynapseRoot } from "../test/harness/synapse-root.js";
import { BridgeProcess } from "../test/e2e/bridge-process.js";
import type { CleanupStack } from "./cleanup.js";
import { benchProcess, childProcess, measureBothDirections, type DirectionResult, type MeasureOptions } from "./measure.js";
import { SynapseBenchUser } from "./synapse-user.js";
import { benchContacts, WhatsAppSide } from "./whatsapp-side.js";

export async function runSynapse(o: Omit<MeasureOptions, "scenario"> & { chats: number }, cleanup: CleanupStack, progress: (line: string) => void): Promise<DirectionResult[]> {
  if (!process.env["MDB_TEST_SYNAPSE_URL"] && canRunLocalSynapse()) {
    progress("checking the Synapse root (built into ~/.cache/matrix-dma-bridge on first use, which takes a few minutes)");
    await ensureSynapseRoot();
  }
  progress("starting Synapse");
  cleanup.add("Synapse", () => stopTestEnv());
  const env = await getTestEnv();
  const dir = mkdtempSync(join(env.tmpDir, "bench-"));

  progress("starting the reference gatekeeper");
  const whatsapp = await WhatsAppSide.start(benchContacts(o.chats));
  cleanup.add("the gatekeeper", () => whatsapp.stop());

  // The harness config fits the registration Synapse loaded (also for an external Synapse); only the gatekeeper,
  // the database and the encryption default are this run's.
  const config: BridgeConfig = {
    ...env.config,
    gatekeeper: { ...env.config.gatekeeper, url: whatsapp.url },
    database: { ...env.config.database, path: join(dir, "bridge.db") },
    bridge: { ...env.config.bridge, encryption: { ...env.config.bridge.encryption, default: o.encrypted, allow: true } },
  };
  await whatsapp.enlist(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), env.synapse.serverName);

  progress(`starting the bridge (homeserver: Synapse at ${env.synapse.url})`);
  const bridge = new BridgeProcess(config, dir);
  cleanup.add("the bridge", () => bridge.stop());
  await bridge.start();

  const matrix = await SynapseBenchUser.create(env.synapse, `bench${Date.now() % 1_000_000}`, { encrypted: o.encrypted });
  cleanup.add("the Matrix user", () => matrix.stop());
  return measureBothDirections(
    {
      bridge,
      matrix,
      whatsapp,
      puppetUserId: (phone) => puppetUserId(config, phone),
      // An external Synapse (MDB_TEST_SYNAPSE_URL) is not ours to find; its CPU is then not reported.
      others: [
        childProcess("gatekeeper", "node", "gatekeeper/cli.js"),
        ...(env.synapse.external ? [] : [childProcess("Synapse", "python3", "synapse.app.homeserver")]),
        benchProcess("bench process (load, Matrix client)"),
      ],
      problems: () => matrix.problems,
      progress,
    },
    { ...o, scenario: "synapse" },
  );
}
