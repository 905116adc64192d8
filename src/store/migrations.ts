// Numbered schema migrations. Append only: a released migration is never edited.
import { SIGNAL_SCHEMA_SQL } from "../protocol/signal/schema.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "bridge core tables",
    sql: `
      -- Appservice transactions already accepted (Synapse retries a transaction until it gets 200).
      CREATE TABLE appservice_txns (
        txn_id TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL
      );
      -- Matrix-side work items from accepted transactions, drained in order by the core.
      CREATE TABLE matrix_inbound (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,           -- event | ephemeral | to_device | device_lists | key_counts
        room_id TEXT,
        payload TEXT NOT NULL,        -- JSON as received
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE INDEX matrix_inbound_room ON matrix_inbound(room_id, seq);

      CREATE TABLE puppets (
        e164 TEXT PRIMARY KEY,
        user_id TEXT NOT NULL UNIQUE,
        display_name TEXT,
        avatar_mxc TEXT,
        registered INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      );

      -- One portal room per (Matrix user, remote user).
      CREATE TABLE portals (
        matrix_user TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        room_id TEXT UNIQUE,
        encrypted INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (matrix_user, remote_uri)
      );

      -- The Matrix users who use the bridge, with their identity on the interop network.
      CREATE TABLE bridge_users (
        user_id TEXT PRIMARY KEY,
        interop_uri TEXT NOT NULL UNIQUE,
        management_room TEXT,
        keys_uploaded_at INTEGER,
        created_at INTEGER NOT NULL
      );

      -- Matrix event <-> interop message map (for replies, reactions, edits, receipts).
      CREATE TABLE message_map (
        matrix_user TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        message_id TEXT NOT NULL,     -- 32 hex chars
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        direction TEXT NOT NULL,      -- in (remote -> Matrix) | out (Matrix -> remote)
        sender TEXT NOT NULL,         -- URI of the author
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (matrix_user, remote_uri, message_id)
      );
      CREATE UNIQUE INDEX message_map_event ON message_map(room_id, event_id);

      -- Matrix -> interop: encrypted envelopes written with the ratchet state that produced them.
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        matrix_user TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        message_id TEXT NOT NULL,
        room_id TEXT,
        event_id TEXT,
        content BLOB NOT NULL,        -- encoded content: needed to re-encrypt when the device list changes
        envelopes BLOB,               -- encoded Send.envelopes (one per device), written with the ratchet state
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX outbox_chat ON outbox(matrix_user, remote_uri, seq);

      -- Interop -> Matrix: decrypted content waiting for delivery; removed once posted.
      CREATE TABLE inbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        matrix_user TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        content BLOB NOT NULL,
        identity_changed INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE INDEX inbox_chat ON inbox(matrix_user, remote_uri, seq);

      -- Envelopes already accepted, so redeliveries are acknowledged without being processed twice.
      CREATE TABLE seen_envelopes (
        message_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        sender TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, recipient, sender, sender_device)
      );

      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "signal protocol state of the Matrix users' interop devices",
    sql: SIGNAL_SCHEMA_SQL,
  },
  {
    version: 3,
    name: "reactions and read markers",
    sql: `
      -- One reaction per (reactor, message) on the WhatsApp side; the Matrix event that shows it, to replace or remove it.
      CREATE TABLE reactions (
        matrix_user TEXT NOT NULL,
        remote_uri TEXT NOT NULL,
        target_message_id TEXT NOT NULL,
        reactor TEXT NOT NULL,          -- URI of who reacted
        emoji TEXT NOT NULL,
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,         -- the m.reaction event
        PRIMARY KEY (matrix_user, remote_uri, target_message_id, reactor)
      );
      CREATE UNIQUE INDEX reactions_event ON reactions(room_id, event_id);

      -- Up to which timestamp the Matrix user's read receipts were passed on, per portal.
      CREATE TABLE read_markers (
        room_id TEXT PRIMARY KEY,
        read_up_to INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: "Matrix end-to-end encryption: the bridge's devices and events waiting for their room key",
    sql: `
      -- One Matrix device per bridge-owned user (the bot and each puppet); its keys live in the crypto store named here.
      CREATE TABLE crypto_devices (
        user_id TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        store_name TEXT NOT NULL UNIQUE,
        ed25519_key TEXT,               -- the device's identity key once known; a different one means the store was lost
        cross_signed INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );

      -- Encrypted Matrix events whose room key had not arrived; put back in the inbound queue when it does.
      CREATE TABLE crypto_waiting_events (
        room_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        decrypt_as TEXT NOT NULL,       -- the bridge user whose device should have received the key
        payload TEXT NOT NULL,          -- the encrypted event as received (no plaintext)
        first_seen_at INTEGER NOT NULL,
        PRIMARY KEY (room_id, event_id)
      );
      CREATE INDEX crypto_waiting_session ON crypto_waiting_events(room_id, session_id);
    `,
  },
  {
    version: 5,
    name: "puppet avatars from the remote profile",
    sql: `
      -- The remote media ID the puppet's avatar was made from, to notice when the contact changes it.
      ALTER TABLE puppets ADD COLUMN avatar_remote_id TEXT;
    `,
  },
  {
    version: 6,
    name: "appservice intake deduplicated by item, not by transaction ID",
    sql: `
      -- Homeservers may reuse a transaction ID for new events (Synapse after a restart): what was received is
      -- remembered per item (event ID; a digest for to-device and ephemeral content), pruned after a few days.
      CREATE TABLE appservice_seen (
        item_key TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX appservice_seen_time ON appservice_seen(received_at);
      DROP TABLE appservice_txns;
    `,
  },
  {
    version: 7,
    name: "trust and safety: the contacts' identities each user was told about, and verified",
    sql: `
      -- Per Matrix user, contact and device: the identity key (its SHA-256) the user was last told about. A different
      -- current key is a change to announce (once: the row is updated after the notice); a device without a row is a
      -- new device. verified_at: the user verified this key (the verify command); reverify_needed: a verified identity changed
      -- (or a device joined a verified contact), which block_until_verified holds messages for.
      CREATE TABLE identity_trust (
        matrix_user TEXT NOT NULL,
        contact TEXT NOT NULL,
        device INTEGER NOT NULL,
        identity_hash TEXT NOT NULL,
        announced_at INTEGER NOT NULL,
        verified_at INTEGER,
        reverify_needed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (matrix_user, contact, device)
      );
    `,
  },
];
