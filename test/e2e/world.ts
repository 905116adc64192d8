// One bridged world for an end-to-end suite: the shared harness Synapse, a fresh gatekeeper child process with a
// provider enlisted for the bridge, a fresh bridge process (its own database), and a Matrix user.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { providerPublicKey } from "../../src/config/provider-key.js";
import type { BridgeConfig } from "../../src/config/schema.js";
import { GatekeeperProcess, type GatekeeperProcessOptions } from "../../src/gatekeeper/process.js";
import { GatekeeperApi } from "../../src/interop/http-api.js";
import { ProviderTokens } from "../../src/interop/tokens.js";
import { getTestEnv, type TestEnv } from "../harness/fixture.js";
import { makeTestConfig, type ConfigSection } from "../harness/config.js";
import { bridgeDatabaseUrl } from "../support/test-database.js";
import { BridgeProcess } from "./bridge-process.js";
import { MatrixTestUser } from "./matrix-user.js";

export interface World {
  env: TestEnv;
  gk: GatekeeperProcess;
  bridge: BridgeProcess;
  config: BridgeConfig;
  user: MatrixTestUser;
  userUri: string;
  bot: string;
  puppet(e164: string): string;
  stop(): Promise<void>;
}

export async function startWorld(
  name: string,
  phoneUsers: { phone: string; name: string; devices?: number; optedIn?: boolean; avatar?: { data: Uint8Array; contentType: string } }[],
  overrides?: Partial<Record<ConfigSection, Record<string, unknown>>>,
  /** Localpart of the Matrix user (default: name plus a number), e.g. to name it in permissions. */
  userLocalpart = `${name}${Date.now() % 1_000_000}`,
  /** Give the Matrix user a real E2EE device (for encrypted portals). */
  crypto = false,
  /** Gatekeeper options; by default its rate and flood limits are out of reach (suites that test them set them). */
  gatekeeper: GatekeeperProcessOptions = {},
  /** Something the bridge reaches the gatekeeper through (a proxy that cuts connections): its URL is the gatekeeper's public one. */
  front?: { url: string; setUpstream(url: string): void },
): Promise<World> {
  const env = await getTestEnv();
  const dir = mkdtempSync(join(env.tmpDir, `${name}-`));
  const gk = await GatekeeperProcess.start({ rateLimit: { burst: 10_000, perSecond: 10_000 }, senderLimits: { messagesPerMinute: 0, newChatsPerHour: 0 }, ...gatekeeper, ...(front ? { publicUrl: front.url } : {}) });
  front?.setUpstream(gk.url);
  const gatekeeperUrl = front?.url ?? gk.url;
  const config = makeTestConfig({
    homeserverUrl: env.synapse.url,
    domain: env.synapse.serverName,
    appservicePort: env.appservicePort,
    registrationPath: env.config.appservice.registration,
    dataDir: dir,
    // A suite that sets its own database (a SQLite file it inspects) keeps it on either run.
    databaseUrl: overrides?.database ? undefined : await bridgeDatabaseUrl(),
    gatekeeperUrl,
    // Unencrypted portals unless a suite asks for encryption (the encrypted suite covers Matrix E2EE).
    overrides: { ...overrides, bridge: { encryption: { default: false, allow: true }, ...overrides?.bridge } },
  });
  await gk.addProvider(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), [env.synapse.serverName]);
  const api = new GatekeeperApi({ baseUrl: gatekeeperUrl, tokens: new ProviderTokens(config.gatekeeper.provider_id, config.gatekeeper.provider_key, { gatekeeperUrl }) });
  for (const u of phoneUsers) {
    // A profile picture lives on the gatekeeper's media service, like any media.
    const avatar = u.avatar ? await api.uploadMedia(u.avatar.data, u.avatar.contentType) : undefined;
    await gk.addUser(u.phone, u.name, { ...(u.devices ? { devices: u.devices } : {}), ...(u.optedIn === false ? { optedIn: false } : {}), ...(avatar ? { avatar } : {}) });
  }
  const bridge = new BridgeProcess(config, dir);
  await bridge.start();
  const user = await MatrixTestUser.create(env.synapse, userLocalpart, { crypto });
  const server = env.synapse.serverName;
  return {
    env,
    gk,
    bridge,
    config,
    user,
    userUri: `matrix:u/${user.userId.slice(1)}`,
    bot: `@${config.appservice.bot_localpart}:${server}`,
    puppet: (e164) => `@wa_${e164.slice(1)}:${server}`,
    async stop() {
      user.stop();
      await bridge.stop();
      // A message a simulated phone threw away (a reused ratchet counter, a bad MAC) is lost without a word to
      // anyone: every suite fails on one, even when its own assertions did not look at that message.
      const silentDrops = await gk.assertNothingDiscarded().then(
        () => undefined,
        (err: unknown) => err,
      );
      await gk.stop();
      if (silentDrops) throw silentDrops;
    },
  };
}

/** The text a simulated user received, whatever kind of message carried it. */
export type ReceivedJson = {
  message?: {
    conversation?: string;
    extendedTextMessage?: { text?: string; contextInfo?: { stanzaId?: string } };
    reactionMessage?: { key?: { id?: string }; text?: string };
    protocolMessage?: { key?: { id?: string }; type?: string; editedMessage?: { conversation?: string } };
  };
  receipt?: { type?: string; messageIds?: string[] };
  chatState?: { state?: string; audio?: boolean };
};

/** A valid 1×1 PNG: a real image for avatars and media without shipping a file. */
export const PIXEL_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
