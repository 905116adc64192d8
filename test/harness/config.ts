import { generateKeyPairSync } from "node:crypto";
import path from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../../src/config/load.js";
import type { BridgeConfig } from "../../src/config/schema.js";

export type ConfigSection = "homeserver" | "appservice" | "bridge" | "gatekeeper" | "database" | "metrics" | "provisioning" | "logging";

export interface TestConfigOptions {
  homeserverUrl: string;
  /** The homeserver's server name ("localhost" for the harness Synapse). */
  domain: string;
  /** Where the bridge under test listens for transactions (on 127.0.0.1). */
  appservicePort: number;
  registrationPath: string;
  /** Directory for the bridge's SQLite database. */
  dataDir: string;
  /** A PostgreSQL database for the bridge instead (MDB_TEST_DATABASE=postgres runs). */
  databaseUrl?: string;
  /** Default: a placeholder URL nothing listens on; tests that run a gatekeeper pass its URL. */
  gatekeeperUrl?: string;
  /** Keys merged over the defaults, per section (raw YAML-level values, validated like a config file). */
  overrides?: Partial<Record<ConfigSection, Record<string, unknown>>>;
}

// Nothing listens on port 9 (discard) on the test machines: a test that forgot to set a gatekeeper fails fast.
const GATEKEEPER_PLACEHOLDER = "http://127.0.0.1:9";

/**
 * A bridge config for tests, validated by the bridge's own config parser, so a test config can never drift
 * from what the bridge accepts. The provider key is generated in memory; it is only enlisted with a gatekeeper
 * that a test starts itself.
 */
export function makeTestConfig(opts: TestConfigOptions): BridgeConfig {
  const providerKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const sections: Record<ConfigSection, Record<string, unknown>> = {
    homeserver: { url: opts.homeserverUrl, domain: opts.domain },
    appservice: {
      id: "dma-bridge-test",
      bind_address: "127.0.0.1",
      port: opts.appservicePort,
      url: `http://127.0.0.1:${opts.appservicePort}`,
      registration: opts.registrationPath,
      bot_localpart: "whatsappbot",
      bot_displayname: "WhatsApp bridge bot",
    },
    bridge: {
      puppet_localpart_template: "wa_{digits}",
      permissions: { [opts.domain]: "user" },
      // Suites written before message requests expect a contact's first message to open a portal; the requests
      // suite (test/e2e/requests.test.ts) turns them on.
      message_requests: "off",
      // The benchmarks and older suites send faster than a person; the limits suite sets its own.
      limits: { messages_per_minute: 0, new_portals_per_hour: 0, sender_messages_per_minute: 0, sender_new_chats_per_hour: 0 },
    },
    gatekeeper: { url: opts.gatekeeperUrl ?? GATEKEEPER_PLACEHOLDER, provider_id: "test-bridge", provider_key: providerKey },
    database: opts.databaseUrl ? { type: "postgres", url: opts.databaseUrl } : { type: "sqlite", path: path.join(opts.dataDir, "bridge.db") },
    metrics: {},
    provisioning: {},
    logging: { level: process.env["MDB_TEST_LOG"] ?? "warn", format: "json" },
  };
  for (const [name, values] of Object.entries(opts.overrides ?? {}) as [ConfigSection, Record<string, unknown>][]) {
    sections[name] = { ...sections[name], ...values };
  }
  return parseConfig(stringify(sections), "test config", { baseDir: opts.dataDir });
}
