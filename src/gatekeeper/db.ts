// The gatekeeper's own SQLite database: one file per data directory, WAL mode, schema created on open.
// It shares nothing with the bridge's store; the simulated devices' Signal state lives here too.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SIGNAL_SCHEMA_SQL } from "../protocol/signal/schema.js";

export type Db = Database.Database;

const GATEKEEPER_SCHEMA_SQL = `
CREATE TABLE providers (
  id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,          -- raw Ed25519 public key, base64url
  created_at INTEGER NOT NULL
);
CREATE TABLE provider_domains (
  domain TEXT PRIMARY KEY,           -- a Matrix domain is served by exactly one provider
  provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE
);

-- Phone-number users of the gatekeeper's own network (the simulated users).
CREATE TABLE users (
  e164 TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  avatar TEXT,                       -- media id
  opted_in INTEGER NOT NULL,
  send_receipts INTEGER NOT NULL DEFAULT 1,
  next_device_id INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL
);
CREATE TABLE user_allowed_providers (
  e164 TEXT NOT NULL REFERENCES users(e164) ON DELETE CASCADE,
  provider_id TEXT NOT NULL,
  PRIMARY KEY (e164, provider_id)
);
CREATE TABLE blocks (
  e164 TEXT NOT NULL REFERENCES users(e164) ON DELETE CASCADE,
  blocked_uri TEXT NOT NULL,
  PRIMARY KEY (e164, blocked_uri)
);

-- Key service: one row per device of any user (tel: or matrix:), the device list of a user is its rows here.
CREATE TABLE key_devices (
  uri TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key TEXT NOT NULL,
  signed_prekey TEXT NOT NULL,       -- JSON SignedPublicPreKey
  kyber_last_resort TEXT NOT NULL,   -- JSON SignedPublicPreKey
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (uri, device_id)
);
CREATE TABLE one_time_prekeys (
  uri TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  PRIMARY KEY (uri, device_id, key_id)
);
CREATE TABLE one_time_kyber_prekeys (
  uri TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (uri, device_id, key_id)
);

-- Envelopes for a provider's users, kept until the provider acknowledges them; seq gives delivery order.
CREATE TABLE provider_queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  provider_id TEXT NOT NULL,
  message_id BLOB NOT NULL,
  recipient TEXT NOT NULL,
  recipient_device INTEGER NOT NULL,
  envelope BLOB NOT NULL,            -- serialized Envelope
  created_at INTEGER NOT NULL,
  UNIQUE (message_id, recipient, recipient_device)
);
CREATE INDEX provider_queue_by_provider ON provider_queue (provider_id, seq);

-- Envelopes accepted for simulated devices, kept until the device has decrypted and stored them.
CREATE TABLE sim_inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  e164 TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
-- Every envelope ever accepted from a provider, so a retransmitted Send is acknowledged without a second delivery.
CREATE TABLE accepted_envelopes (
  message_id BLOB NOT NULL,
  recipient TEXT NOT NULL,
  recipient_device INTEGER NOT NULL,
  accepted_at INTEGER NOT NULL,
  PRIMARY KEY (message_id, recipient, recipient_device)
);

-- What simulated users received (decrypted), for the watch stream and the admin list.
CREATE TABLE sim_received (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  e164 TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  message_id TEXT NOT NULL,          -- hex of the envelope id
  sender TEXT NOT NULL,
  sender_device INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  content TEXT NOT NULL,             -- JSON of the decoded Content
  received_at INTEGER NOT NULL,
  UNIQUE (e164, device_id, message_id, sender)
);
CREATE INDEX sim_received_by_user ON sim_received (e164, seq);

CREATE TABLE media (
  id TEXT PRIMARY KEY,
  uploader TEXT NOT NULL,            -- provider id or tel: URI
  size INTEGER NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

// Numbered migrations: entry i brings the schema from version i to i + 1. Released entries are never edited.
// 3: what a simulated user made of a received media message (JSON ReceivedMedia; NULL for other messages).
const SIM_RECEIVED_MEDIA_SQL = "ALTER TABLE sim_received ADD COLUMN media TEXT;";

// 4: token ids (jti) that opened a WebSocket, so a captured upgrade token cannot open a second one; rows go once the
// token has expired. On disk rather than in memory so that a restart does not reopen the window.
const USED_TOKEN_IDS_SQL = `
CREATE TABLE used_token_ids (
  issuer TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,       -- seconds since the epoch: the token's exp plus the clock tolerance
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX used_token_ids_by_expiry ON used_token_ids (expires_at);
`;

// 5: envelopes a provider refused to deliver (an Ack with `refused`), for telling their senders.
const DELIVERY_REFUSALS_SQL = `
CREATE TABLE delivery_refusals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL,          -- hex of the envelope id
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  recipient_device INTEGER NOT NULL,
  provider_id TEXT NOT NULL,
  code TEXT NOT NULL,                -- ErrorCode name
  detail TEXT NOT NULL,
  refused_at INTEGER NOT NULL
);
CREATE INDEX delivery_refusals_by_sender ON delivery_refusals (sender, seq);
`;

// 6: trust and safety. Blocks a provider's users placed on remote users (the gatekeeper refuses those senders'
// messages to them); reports of remote users, by provider users; the suspension of a simulated user (after enough
// reports, or by the operator); and which pairs of users chatted recently, for the new-chats-per-hour flood limit.
// A pair is kept only while it is active (pruned after 30 idle days): enough to tell a new chat from an old one
// without keeping a social graph for ever.
const SAFETY_SQL = `
CREATE TABLE provider_user_blocks (
  user_uri TEXT NOT NULL,            -- matrix: URI of a provider's user
  blocked_uri TEXT NOT NULL,         -- tel: URI
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_uri, blocked_uri)
);
CREATE TABLE reports (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,           -- the reference given to the reporter
  provider_id TEXT NOT NULL,
  reporter TEXT NOT NULL,            -- matrix: URI
  reported TEXT NOT NULL,            -- tel: URI
  reason TEXT NOT NULL,              -- ReportReason name
  message_ids TEXT NOT NULL,         -- JSON array of message-ID strings (32 hex digits)
  comment TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX reports_by_reported ON reports (reported, seq);
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
ALTER TABLE users ADD COLUMN suspended_reason TEXT;
CREATE TABLE chat_pairs (
  a TEXT NOT NULL,                   -- the two URIs, a < b
  b TEXT NOT NULL,
  initiator TEXT NOT NULL,           -- who wrote first (the new chat counts against them)
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  PRIMARY KEY (a, b)
);
CREATE INDEX chat_pairs_by_initiator ON chat_pairs (initiator, first_at);
CREATE INDEX chat_pairs_by_last ON chat_pairs (last_at);
`;

// 7: envelopes the simulated devices threw away (undecryptable, a reused counter, a redelivery), so tests can fail
// on a message no user will see (sim/discarded.ts).
const SIM_DISCARDED_SQL = `
CREATE TABLE sim_discarded (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  e164 TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  message_id TEXT NOT NULL,          -- hex of the envelope id, '' when it did not decode
  sender TEXT NOT NULL,
  sender_device INTEGER NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT NOT NULL,
  discarded_at INTEGER NOT NULL
);
CREATE INDEX sim_discarded_by_user ON sim_discarded (e164, seq);
`;

// 8: PrekeysLow and DevicesChanged notices, kept until the provider has read them (provider-notices.ts): one per
// provider, kind and user, the latest replacing the one before.
const PROVIDER_NOTICES_SQL = `
CREATE TABLE provider_notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  provider_id TEXT NOT NULL,
  kind TEXT NOT NULL,                -- prekeys_low | devices_changed
  user TEXT NOT NULL,                -- URI the notice is about
  frame BLOB NOT NULL,               -- encoded ServerFrame
  created_at INTEGER NOT NULL,
  UNIQUE (provider_id, kind, user)
);
CREATE INDEX provider_notices_by_provider ON provider_notices (provider_id, id);
`;

// 9: polls simulated users created or received, with the secret their votes are sealed with (sim/polls.ts).
const SIM_POLLS_SQL = `
CREATE TABLE sim_polls (
  e164 TEXT NOT NULL,
  message_id TEXT NOT NULL,
  creator TEXT NOT NULL,             -- URI of who created the poll
  secret BLOB NOT NULL,
  options TEXT NOT NULL,             -- JSON array of the option names, in order
  PRIMARY KEY (e164, message_id)
);
`;

const MIGRATIONS: readonly string[] = [
  GATEKEEPER_SCHEMA_SQL,
  SIGNAL_SCHEMA_SQL,
  SIM_RECEIVED_MEDIA_SQL,
  USED_TOKEN_IDS_SQL,
  DELIVERY_REFUSALS_SQL,
  SAFETY_SQL,
  SIM_DISCARDED_SQL,
  PROVIDER_NOTICES_SQL,
  SIM_POLLS_SQL,
];

/** Opens (creating or migrating if needed) the gatekeeper database in `dataDir`. */
export function openGatekeeperDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, "gatekeeper.sqlite"));
  try {
    db.pragma("journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode; only a power loss can drop the last commits.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`gatekeeper database in ${dataDir} has schema version ${version}, newer than this program knows (${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
