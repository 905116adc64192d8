// SQLite schema of the Signal stores. Both the bridge's and the gatekeeper's migrations include this text as one
// migration step; it is version 1 of the Signal tables and, like any released migration, is never edited: later
// changes come as new exported migration texts next to it.

export const SIGNAL_SCHEMA_SQL = `
  -- One row per local device (a Matrix user's bridge device, or a simulated remote device in the gatekeeper).
  -- Every device has its own identity key and registration ID, as in Signal/WhatsApp multi-device.
  CREATE TABLE signal_local_devices (
    local_id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL,
    device_id INTEGER NOT NULL,
    identity_key_pair BLOB NOT NULL,      -- IdentityKeyPair.serialize()
    registration_id INTEGER NOT NULL,
    -- Next key IDs to hand out: IDs only grow, so a key ID never names two different keys.
    next_prekey_id INTEGER NOT NULL DEFAULT 1,
    next_signed_prekey_id INTEGER NOT NULL DEFAULT 1,
    next_kyber_prekey_id INTEGER NOT NULL DEFAULT 1,
    -- Bumped by every committed unit of work that wrote something: detects two writers forking the ratchet state.
    version INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (uri, device_id)
  );

  CREATE TABLE signal_sessions (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    remote_uri TEXT NOT NULL,
    remote_device INTEGER NOT NULL,
    record BLOB NOT NULL,                  -- SessionRecord.serialize()
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (local_id, remote_uri, remote_device)
  );

  -- Remote identity keys, trust on first use; per device, since every device has its own identity.
  CREATE TABLE signal_identities (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    remote_uri TEXT NOT NULL,
    remote_device INTEGER NOT NULL,
    identity_key BLOB NOT NULL,            -- PublicKey.serialize()
    first_seen_at INTEGER NOT NULL,
    changed_at INTEGER,                    -- last time a different key replaced the stored one
    PRIMARY KEY (local_id, remote_uri, remote_device)
  );

  -- One-time EC prekeys; deleted when a PreKey message consumes them.
  CREATE TABLE signal_prekeys (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    record BLOB NOT NULL,                  -- PreKeyRecord.serialize()
    created_at INTEGER NOT NULL,
    PRIMARY KEY (local_id, key_id)
  );

  CREATE TABLE signal_signed_prekeys (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    record BLOB NOT NULL,                  -- SignedPreKeyRecord.serialize()
    created_at INTEGER NOT NULL,
    superseded_at INTEGER,                 -- NULL for the current key; old keys stay for a grace period
    PRIMARY KEY (local_id, key_id)
  );

  -- Kyber prekeys: one-time keys (deleted on use) and last-resort keys (kept; rotated with the signed prekey).
  CREATE TABLE signal_kyber_prekeys (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    record BLOB NOT NULL,                  -- KyberPreKeyRecord.serialize()
    last_resort INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    superseded_at INTEGER,
    PRIMARY KEY (local_id, key_id)
  );

  -- Uses of last-resort Kyber prekeys: a second PreKey message with the same base key is a replay.
  CREATE TABLE signal_kyber_prekey_uses (
    local_id INTEGER NOT NULL REFERENCES signal_local_devices(local_id) ON DELETE CASCADE,
    key_id INTEGER NOT NULL,
    signed_prekey_id INTEGER NOT NULL,
    base_key BLOB NOT NULL,
    used_at INTEGER NOT NULL,
    PRIMARY KEY (local_id, key_id, signed_prekey_id, base_key)
  );
`;
