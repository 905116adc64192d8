import { generateKeyPairSync } from "node:crypto";
import { stringify } from "yaml";

export interface HomeserverPaths {
  /** The run's data directory as Synapse sees it (inside the root). */
  dataDir: string;
  /** The appservice registration as Synapse sees it. */
  registrationPath: string;
}

export interface HomeserverSettings extends HomeserverPaths {
  serverName: string;
  port: number;
  registrationSharedSecret: string;
  macaroonSecretKey: string;
  formSecret: string;
}

export const HOMESERVER_LOG_NAME = "homeserver.log";

// Tests and benchmarks create rooms, register puppets and send bursts far beyond what Synapse's defaults
// (tuned against abuse) allow; a 429 in a test would measure the limiter, not the bridge.
const LOOSE = { per_second: 10_000, burst_count: 100_000 };

/** homeserver.yaml for one test run, written whole so no Python run is needed to generate it. */
export function renderHomeserverConfig(s: HomeserverSettings): string {
  const config = {
    server_name: s.serverName,
    public_baseurl: `http://127.0.0.1:${s.port}/`,
    pid_file: `${s.dataDir}/homeserver.pid`,
    listeners: [
      {
        port: s.port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    database: { name: "sqlite3", args: { database: `${s.dataDir}/homeserver.db` } },
    log_config: `${s.dataDir}/log.config`,
    media_store_path: `${s.dataDir}/media_store`,
    signing_key_path: `${s.dataDir}/signing.key`,
    // No network beyond this machine: never fetch keys from matrix.org.
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    report_stats: false,
    enable_metrics: false,
    url_preview_enabled: false,
    enable_registration: false,
    registration_shared_secret: s.registrationSharedSecret,
    macaroon_secret_key: s.macaroonSecretKey,
    form_secret: s.formSecret,
    app_service_config_files: [s.registrationPath],
    experimental_features: {
      // Device lists, one-time-key counts and fallback keys in appservice transactions.
      msc3202_transaction_extensions: true,
      // To-device events in appservice transactions (room keys for the bridge's devices).
      msc2409_to_device_messages_enabled: true,
    },
    rc_message: LOOSE,
    rc_registration: LOOSE,
    rc_registration_token_validity: LOOSE,
    rc_login: { address: LOOSE, account: LOOSE, failed_attempts: LOOSE },
    rc_admin_redaction: LOOSE,
    rc_joins: { local: LOOSE, remote: LOOSE },
    rc_joins_per_room: LOOSE,
    rc_invites: { per_room: LOOSE, per_user: LOOSE, per_issuer: LOOSE },
    rc_third_party_invite: LOOSE,
    rc_3pid_validation: LOOSE,
    rc_key_requests: LOOSE,
    rc_media_create: LOOSE,
    rc_presence: { per_user: LOOSE },
    rc_delayed_event_mgmt: LOOSE,
    rc_room_creation: LOOSE,
    rc_reports: LOOSE,
    rc_user_directory: LOOSE,
  };
  return stringify(config);
}

/** Python logging configuration: everything at INFO into one file that the harness shows when a start fails. */
export function renderLogConfig(dataDir: string): string {
  return stringify({
    version: 1,
    formatters: {
      precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
    },
    // Supplies %(request)s; without it every log line fails to format.
    filters: { context: { "()": "synapse.logging.context.LoggingContextFilter", request: "" } },
    handlers: {
      file: {
        class: "logging.FileHandler",
        formatter: "precise",
        filters: ["context"],
        filename: `${dataDir}/${HOMESERVER_LOG_NAME}`,
        encoding: "utf8",
      },
    },
    loggers: { "synapse.storage.SQL": { level: "WARNING" } },
    root: { level: "INFO", handlers: ["file"] },
    disable_existing_loggers: false,
  });
}

/**
 * A server signing key in Synapse's file format ("ed25519 <key id> <unpadded base64 seed>"). Generated here
 * rather than by `--generate-keys`, which would cost a second Python start-up per run.
 */
export function renderSigningKey(): string {
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  if (jwk.d === undefined) throw new Error("Node returned an Ed25519 JWK without its private part");
  const seed = Buffer.from(jwk.d, "base64url").toString("base64").replace(/=+$/, "");
  return `ed25519 a_test ${seed}\n`;
}
