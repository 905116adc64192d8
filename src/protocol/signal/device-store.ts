// Signal state of one local device in the database (SQLite or PostgreSQL), read and written through units of work.
//
// The bridge must write an outgoing envelope to its outbox in the same transaction as the ratchet state that produced
// it, and must not hold a transaction open while libsignal computes. So a unit of work reads from the database
// (through its own pending writes) and buffers every write; `commit()` writes them all at once and can run inside the
// caller's `db.transaction(...)` next to the caller's own writes. A unit of work that is never committed leaves no
// trace, which is what a crash between encrypting and persisting must look like.
import {
  Direction,
  IdentityChange,
  IdentityKeyPair,
  type IdentityKeyStore,
  KyberPreKeyRecord,
  type KyberPreKeyStore,
  PreKeyRecord,
  type PreKeyStore,
  PrivateKey,
  type ProtocolAddress,
  PublicKey,
  SessionRecord,
  type SessionStore,
  SignedPreKeyRecord,
  type SignedPreKeyStore,
} from "@signalapp/libsignal-client";
import { checkDeviceAddress, type DeviceAddress, formatDevice } from "./address.js";
import { SignalError, type SignalErrorCode } from "./errors.js";
import { withIdentityLock } from "./identity-lock.js";
import { ratchetsCommitted, type RatchetPosition } from "./ratchet-watch.js";
import { WriteBuffer } from "./write-buffer.js";
import { StoreError, type SqlDatabase, type SqlValue } from "../../sql/sql.js";

type Db = SqlDatabase;

/**
 * What to do when a remote device shows a different identity key than the one stored.
 * - `accept-changes` (default, as WhatsApp does): use the new key, and report the change to the caller once.
 * - `reject-changes`: libsignal refuses with an untrusted-identity error until the caller trusts the new key.
 */
export type IdentityPolicy = "accept-changes" | "reject-changes";

export interface SignalDeviceStoreOptions {
  identityPolicy?: IdentityPolicy;
  /** Milliseconds since the epoch; injectable so tests can age prekeys. */
  now?: () => number;
}

export interface SessionRow {
  remoteUri: string;
  remoteDevice: number;
  record: Uint8Array<ArrayBuffer>;
  updatedAt: number;
}
export interface IdentityRow {
  remoteUri: string;
  remoteDevice: number;
  identityKey: Uint8Array<ArrayBuffer>;
  firstSeenAt: number;
  changedAt: number | null;
}
export interface PreKeyRow {
  keyId: number;
  record: Uint8Array<ArrayBuffer>;
  createdAt: number;
}
export interface SignedPreKeyRow extends PreKeyRow {
  supersededAt: number | null;
}
export interface KyberPreKeyRow extends SignedPreKeyRow {
  lastResort: boolean;
}
interface KyberUseRow {
  keyId: number;
  signedPreKeyId: number;
  baseKey: Uint8Array<ArrayBuffer>;
  usedAt: number;
}

interface LocalDeviceRow {
  local_id: number;
  uri: string;
  device_id: number;
  identity_key_pair: Buffer;
  registration_id: number;
  next_prekey_id: number;
  next_signed_prekey_id: number;
  next_kyber_prekey_id: number;
  version: number;
}

export type KeyIdKind = "prekey" | "signedPrekey" | "kyberPrekey";

// Signal keeps key IDs below 2^24 (they travel in 3-byte fields in some places); we stay inside that range too.
export const MAX_KEY_ID = 0xffffff;

function bytes(buf: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buf);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function remoteKey(uri: string, device: number): string {
  return `${uri}\u0000${device}`;
}

function addressOf(name: ProtocolAddress): DeviceAddress {
  return { uri: name.name(), deviceId: name.deviceId() };
}

// Statements by text: the engine prepares each once and reuses it.
const SQL = {
  localByAddress: "SELECT * FROM signal_local_devices WHERE uri = ? AND device_id = ?",
  localById: "SELECT * FROM signal_local_devices WHERE local_id = ?",
  insertLocal: `INSERT INTO signal_local_devices (uri, device_id, identity_key_pair, registration_id, created_at)
    VALUES (?, ?, ?, ?, ?) ON CONFLICT (uri, device_id) DO NOTHING`,
  bumpLocal: `UPDATE signal_local_devices
      SET version = version + 1, next_prekey_id = ?, next_signed_prekey_id = ?, next_kyber_prekey_id = ?
    WHERE local_id = ? AND version = ?`,
  sessionGet: "SELECT record, updated_at FROM signal_sessions WHERE local_id = ? AND remote_uri = ? AND remote_device = ?",
  sessionsForUri: "SELECT remote_device, record, updated_at FROM signal_sessions WHERE local_id = ? AND remote_uri = ?",
  sessionUpsert: `INSERT INTO signal_sessions (local_id, remote_uri, remote_device, record, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (local_id, remote_uri, remote_device) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`,
  sessionDelete: "DELETE FROM signal_sessions WHERE local_id = ? AND remote_uri = ? AND remote_device = ?",
  identityGet: `SELECT identity_key, first_seen_at, changed_at FROM signal_identities
    WHERE local_id = ? AND remote_uri = ? AND remote_device = ?`,
  identityUpsert: `INSERT INTO signal_identities (local_id, remote_uri, remote_device, identity_key, first_seen_at, changed_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (local_id, remote_uri, remote_device)
    DO UPDATE SET identity_key = excluded.identity_key, changed_at = excluded.changed_at`,
  prekeyGet: "SELECT record, created_at FROM signal_prekeys WHERE local_id = ? AND key_id = ?",
  prekeyUpsert: `INSERT INTO signal_prekeys (local_id, key_id, record, created_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (local_id, key_id) DO UPDATE SET record = excluded.record`,
  prekeyDelete: "DELETE FROM signal_prekeys WHERE local_id = ? AND key_id = ?",
  prekeyCount: "SELECT count(*) AS n FROM signal_prekeys WHERE local_id = ?",
  signedGet: "SELECT record, created_at, superseded_at FROM signal_signed_prekeys WHERE local_id = ? AND key_id = ?",
  signedAll: "SELECT key_id, record, created_at, superseded_at FROM signal_signed_prekeys WHERE local_id = ?",
  signedUpsert: `INSERT INTO signal_signed_prekeys (local_id, key_id, record, created_at, superseded_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (local_id, key_id) DO UPDATE SET record = excluded.record, superseded_at = excluded.superseded_at`,
  signedDelete: "DELETE FROM signal_signed_prekeys WHERE local_id = ? AND key_id = ?",
  kyberGet: "SELECT record, last_resort, created_at, superseded_at FROM signal_kyber_prekeys WHERE local_id = ? AND key_id = ?",
  kyberAllLastResort: `SELECT key_id, record, created_at, superseded_at FROM signal_kyber_prekeys
    WHERE local_id = ? AND last_resort = 1`,
  kyberUpsert: `INSERT INTO signal_kyber_prekeys (local_id, key_id, record, last_resort, created_at, superseded_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (local_id, key_id) DO UPDATE SET record = excluded.record, superseded_at = excluded.superseded_at`,
  kyberDelete: "DELETE FROM signal_kyber_prekeys WHERE local_id = ? AND key_id = ?",
  kyberCountOneTime: "SELECT count(*) AS n FROM signal_kyber_prekeys WHERE local_id = ? AND last_resort = 0",
  kyberUseExists: `SELECT 1 AS one FROM signal_kyber_prekey_uses
    WHERE local_id = ? AND key_id = ? AND signed_prekey_id = ? AND base_key = ?`,
  kyberUseInsert: `INSERT INTO signal_kyber_prekey_uses (local_id, key_id, signed_prekey_id, base_key, used_at)
    VALUES (?, ?, ?, ?, ?)`,
  kyberUsesDelete: "DELETE FROM signal_kyber_prekey_uses WHERE local_id = ? AND key_id = ?",
} as const;

/** Creates the identity row of a local device; returns false when it already existed. */
export async function insertLocalDevice(
  db: Db,
  local: DeviceAddress,
  identity: IdentityKeyPair,
  registrationId: number,
  now: number,
): Promise<boolean> {
  // ON CONFLICT DO NOTHING: two callers racing on one database cannot create two identities.
  const inserted = await db.run(SQL.insertLocal, [local.uri, local.deviceId, identity.serialize(), registrationId, now]);
  return inserted.changes === 1;
}

/** The Signal state of one local device: hands out units of work over it. */
export class SignalDeviceStore {
  readonly identityPolicy: IdentityPolicy;
  readonly now: () => number;

  private constructor(
    readonly db: Db,
    readonly local: DeviceAddress,
    readonly localId: number,
    options: SignalDeviceStoreOptions,
  ) {
    this.identityPolicy = options.identityPolicy ?? "accept-changes";
    this.now = options.now ?? Date.now;
  }

  /** Opens the store of a device whose identity exists (see ensureLocalIdentity). */
  static async open(db: Db, local: DeviceAddress, options: SignalDeviceStoreOptions = {}): Promise<SignalDeviceStore> {
    checkDeviceAddress(local, "local");
    const row = await db.get<LocalDeviceRow>(SQL.localByAddress, [local.uri, local.deviceId]);
    if (!row) {
      throw new SignalError("no-local-identity", `no Signal identity for local device ${formatDevice(local)}`);
    }
    return new SignalDeviceStore(db, { uri: local.uri, deviceId: local.deviceId }, row.local_id, options);
  }

  /** Whether the local device has an identity in this database. */
  static async exists(db: Db, local: DeviceAddress): Promise<boolean> {
    return (await db.get(SQL.localByAddress, [local.uri, local.deviceId])) !== undefined;
  }

  /**
   * Starts a unit of work. Begin it inside `withIdentityLock(store.local, ...)` (or use `transact`): a unit of work
   * that began before another one for the same device committed fails its own commit as a concurrent modification.
   */
  async begin(): Promise<SignalUnitOfWork> {
    const row = await this.db.get<LocalDeviceRow>(SQL.localById, [this.localId]);
    if (!row) throw new SignalError("no-local-identity", `local device ${formatDevice(this.local)} was deleted`);
    return new SignalUnitOfWork(this, row);
  }

  /**
   * Runs `fn` under the device's lock with a fresh unit of work, then commits it in one database transaction
   * together with `alsoInTransaction(result)` (e.g. the outbox insert of the envelope `fn` encrypted). When `fn` or
   * the transaction throws, nothing is written.
   */
  async transact<T>(fn: (uow: SignalUnitOfWork) => Promise<T>, alsoInTransaction?: (result: T) => Promise<void> | void): Promise<T> {
    return withIdentityLock(this.local, async () => {
      const outermost = !this.db.inTransaction;
      const uow = await this.begin();
      const result = await fn(uow);
      await this.db.transaction(async () => {
        await uow.commit();
        await alsoInTransaction?.(result);
      });
      if (outermost) uow.reportDurable();
      return result;
    });
  }

  /** Number of one-time prekeys this device still holds (committed state). */
  async countOneTimePreKeys(): Promise<{ preKeys: number; kyberPreKeys: number }> {
    const preKeys = await this.db.get<{ n: number }>(SQL.prekeyCount, [this.localId]);
    const kyber = await this.db.get<{ n: number }>(SQL.kyberCountOneTime, [this.localId]);
    return { preKeys: preKeys!.n, kyberPreKeys: kyber!.n };
  }
}

/**
 * One unit of work over a device's Signal state. Implements libsignal's store interfaces, so it is what the
 * protocol functions receive; its own sync methods below serve the prekey and session helpers of this folder.
 */
export class SignalUnitOfWork
  implements SessionStore, IdentityKeyStore, PreKeyStore, SignedPreKeyStore, KyberPreKeyStore
{
  readonly local: DeviceAddress;
  private state: "open" | "committed" | "discarded" = "open";
  private readonly db: Db;
  private readonly localId: number;
  private readonly version: number;
  private readonly identityKeyPairBytes: Uint8Array<ArrayBuffer>;
  private identityKeyPairCache: IdentityKeyPair | undefined;
  private readonly registrationId: number;
  private readonly nextIds: Record<KeyIdKind, number>;
  private idsChanged = false;
  private readonly identityChanges = new Map<string, number>();
  private storeFailure: SignalError | StoreError | undefined;
  /**
   * Reads for libsignal's store callbacks. libsignal hands an error thrown there back as text only, so a database
   * error (a full disk) is kept here and rethrown as itself: it must not pass for an undecryptable message.
   */
  private readonly reads: Pick<Db, "get" | "all">;

  private readonly sessions: WriteBuffer<SessionRow>;
  private readonly identities: WriteBuffer<IdentityRow>;
  private readonly preKeys: WriteBuffer<PreKeyRow>;
  private readonly signedPreKeys: WriteBuffer<SignedPreKeyRow>;
  private readonly kyberPreKeys: WriteBuffer<KyberPreKeyRow>;
  private readonly kyberUses: KyberUseRow[] = [];
  /** Where each message this unit of work encrypted sits on its chain, for the stale-ratchet watch. */
  private readonly sent: { remote: DeviceAddress; position: RatchetPosition }[] = [];

  /** Use SignalDeviceStore.begin(), which reads the device's row first. */
  constructor(
    readonly store: SignalDeviceStore,
    row: LocalDeviceRow,
  ) {
    this.local = store.local;
    this.db = store.db;
    this.localId = store.localId;
    this.version = row.version;
    this.identityKeyPairBytes = bytes(row.identity_key_pair);
    this.registrationId = row.registration_id;
    this.nextIds = {
      prekey: row.next_prekey_id,
      signedPrekey: row.next_signed_prekey_id,
      kyberPrekey: row.next_kyber_prekey_id,
    };
    const id = this.localId;
    const keep = (err: unknown): never => {
      if (err instanceof StoreError) this.storeFailure ??= err;
      throw err;
    };
    this.reads = {
      get: <T>(sql: string, params?: readonly SqlValue[]) => store.db.get<T>(sql, params).catch(keep),
      all: <T>(sql: string, params?: readonly SqlValue[]) => store.db.all<T>(sql, params).catch(keep),
    };
    const db = this.reads;
    this.sessions = new WriteBuffer(async (key) => {
      const [uri, device] = splitRemoteKey(key);
      const r = await db.get<{ record: Buffer; updated_at: number }>(SQL.sessionGet, [id, uri, device]);
      return r && { remoteUri: uri, remoteDevice: device, record: bytes(r.record), updatedAt: r.updated_at };
    });
    this.identities = new WriteBuffer(async (key) => {
      const [uri, device] = splitRemoteKey(key);
      const r = await db.get<{ identity_key: Buffer; first_seen_at: number; changed_at: number | null }>(SQL.identityGet, [id, uri, device]);
      return (
        r && {
          remoteUri: uri,
          remoteDevice: device,
          identityKey: bytes(r.identity_key),
          firstSeenAt: r.first_seen_at,
          changedAt: r.changed_at,
        }
      );
    });
    this.preKeys = new WriteBuffer(async (key) => {
      const r = await db.get<{ record: Buffer; created_at: number }>(SQL.prekeyGet, [id, Number(key)]);
      return r && { keyId: Number(key), record: bytes(r.record), createdAt: r.created_at };
    });
    this.signedPreKeys = new WriteBuffer(async (key) => {
      const r = await db.get<{ record: Buffer; created_at: number; superseded_at: number | null }>(SQL.signedGet, [id, Number(key)]);
      return r && { keyId: Number(key), record: bytes(r.record), createdAt: r.created_at, supersededAt: r.superseded_at };
    });
    this.kyberPreKeys = new WriteBuffer(async (key) => {
      const r = await db.get<{ record: Buffer; last_resort: number; created_at: number; superseded_at: number | null }>(SQL.kyberGet, [id, Number(key)]);
      return (
        r && {
          keyId: Number(key),
          record: bytes(r.record),
          lastResort: r.last_resort === 1,
          createdAt: r.created_at,
          supersededAt: r.superseded_at,
        }
      );
    });
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  /** Whether this unit of work holds writes that commit() would persist. */
  get hasWrites(): boolean {
    return (
      this.idsChanged ||
      this.sessions.size > 0 ||
      this.identities.size > 0 ||
      this.preKeys.size > 0 ||
      this.signedPreKeys.size > 0 ||
      this.kyberPreKeys.size > 0 ||
      this.kyberUses.length > 0
    );
  }

  /**
   * Writes every buffered change, atomically (as a savepoint when called inside the caller's transaction). Throws a
   * concurrent-modification error, writing nothing, when another unit of work of the same device committed since
   * this one began.
   */
  async commit(): Promise<void> {
    this.assertOpen();
    if (!this.hasWrites) {
      this.state = "committed";
      return;
    }
    // Outside any transaction the writes are durable when writeAll returns; inside one, only when it commits
    // (transact() reports them then).
    const standalone = !this.db.inTransaction;
    try {
      await this.writeAll();
      this.state = "committed";
      if (standalone) this.reportDurable();
    } catch (err) {
      this.state = "discarded";
      throw err;
    }
  }

  private writeAll(): Promise<void> {
    const db = this.db;
    return db.transaction(async () => {
      const bumped = await db.run(SQL.bumpLocal, [this.nextIds.prekey, this.nextIds.signedPrekey, this.nextIds.kyberPrekey, this.localId, this.version]);
      if (bumped.changes !== 1) {
        throw new SignalError(
          "concurrent-modification",
          `Signal state of ${formatDevice(this.local)} changed since this unit of work began; redo the operation`,
        );
      }
      const id = this.localId;
      for (const [key, row] of this.sessions.entries()) {
        const [uri, device] = splitRemoteKey(key);
        if (row) await db.run(SQL.sessionUpsert, [id, uri, device, row.record, row.updatedAt]);
        else await db.run(SQL.sessionDelete, [id, uri, device]);
      }
      for (const [, row] of this.identities.entries()) {
        if (row) await db.run(SQL.identityUpsert, [id, row.remoteUri, row.remoteDevice, row.identityKey, row.firstSeenAt, row.changedAt]);
      }
      for (const [key, row] of this.preKeys.entries()) {
        if (row) await db.run(SQL.prekeyUpsert, [id, row.keyId, row.record, row.createdAt]);
        else await db.run(SQL.prekeyDelete, [id, Number(key)]);
      }
      for (const [key, row] of this.signedPreKeys.entries()) {
        if (row) await db.run(SQL.signedUpsert, [id, row.keyId, row.record, row.createdAt, row.supersededAt]);
        else await db.run(SQL.signedDelete, [id, Number(key)]);
      }
      for (const [key, row] of this.kyberPreKeys.entries()) {
        if (row) {
          await db.run(SQL.kyberUpsert, [id, row.keyId, row.record, row.lastResort ? 1 : 0, row.createdAt, row.supersededAt]);
        } else {
          await db.run(SQL.kyberDelete, [id, Number(key)]);
          await db.run(SQL.kyberUsesDelete, [id, Number(key)]);
        }
      }
      for (const use of this.kyberUses) {
        await db.run(SQL.kyberUseInsert, [id, use.keyId, use.signedPreKeyId, use.baseKey, use.usedAt]);
      }
    });
  }

  /** Its writes are on disk: what it encrypted is now "used" for the stale-ratchet watch (once). */
  reportDurable(): void {
    ratchetsCommitted(this.db, this.local, this.sent.splice(0));
  }

  /** Records where a message encrypted in this unit of work sits on its sending chain (see ratchet-watch.ts). */
  noteSent(remote: DeviceAddress, position: RatchetPosition | undefined): void {
    if (position) this.sent.push({ remote, position });
  }

  /** Drops the buffered writes; the unit of work cannot be used afterwards. */
  discard(): void {
    this.state = "discarded";
  }

  /**
   * libsignal reports an error thrown by a store method only as text; the unit of work keeps the original so the
   * operation can rethrow it with its code intact.
   */
  private fail(code: SignalErrorCode, message: string): SignalError {
    this.storeFailure = new SignalError(code, message);
    return this.storeFailure;
  }

  /** The error a store method raised during the last libsignal call, if any (cleared by reading it). */
  takeStoreFailure(): SignalError | StoreError | undefined {
    const err = this.storeFailure;
    this.storeFailure = undefined;
    return err;
  }

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new SignalError("invalid-argument", `unit of work of ${formatDevice(this.local)} is already ${this.state}`);
    }
  }

  private now(): number {
    return this.store.now();
  }

  // ---- libsignal IdentityKeyStore ---------------------------------------------------------------------------------

  identityKeyPair(): IdentityKeyPair {
    this.identityKeyPairCache ??= IdentityKeyPair.deserialize(this.identityKeyPairBytes);
    return this.identityKeyPairCache;
  }

  async getIdentityKey(): Promise<PrivateKey> {
    return this.identityKeyPair().privateKey;
  }

  async getIdentityKeyPair(): Promise<IdentityKeyPair> {
    return this.identityKeyPair();
  }

  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }

  localRegistrationId(): number {
    return this.registrationId;
  }

  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    this.assertOpen();
    const remote = addressOf(name);
    const k = remoteKey(remote.uri, remote.deviceId);
    const serialized = key.serialize();
    const existing = await this.identities.get(k);
    if (existing && sameBytes(existing.identityKey, serialized)) return IdentityChange.NewOrUnchanged;
    const now = this.now();
    this.identities.set(k, {
      remoteUri: remote.uri,
      remoteDevice: remote.deviceId,
      identityKey: serialized,
      firstSeenAt: existing?.firstSeenAt ?? now,
      changedAt: existing ? now : null,
    });
    if (!existing) return IdentityChange.NewOrUnchanged;
    this.identityChanges.set(k, (this.identityChanges.get(k) ?? 0) + 1);
    return IdentityChange.ReplacedExisting;
  }

  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: Direction): Promise<boolean> {
    if (this.store.identityPolicy === "accept-changes") return true;
    const existing = await this.identities.get(remoteKey(name.name(), name.deviceId()));
    return !existing || sameBytes(existing.identityKey, key.serialize());
  }

  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    const row = await this.identities.get(remoteKey(name.name(), name.deviceId()));
    return row ? PublicKey.deserialize(row.identityKey) : null;
  }

  /** The stored identity key of a remote device (serialized), if any. */
  async remoteIdentity(remote: DeviceAddress): Promise<Uint8Array<ArrayBuffer> | undefined> {
    return (await this.identities.get(remoteKey(remote.uri, remote.deviceId)))?.identityKey;
  }

  /**
   * How often this unit of work replaced the stored identity key of `remote`. Operations compare it before and
   * after a libsignal call to tell whether that call was the first to see a new key.
   */
  identityChangeCount(remote: DeviceAddress): number {
    return this.identityChanges.get(remoteKey(remote.uri, remote.deviceId)) ?? 0;
  }

  /** Stores a remote identity key as trusted (used after the user accepted a change under `reject-changes`). */
  async trustIdentity(remote: DeviceAddress, identityKey: Uint8Array<ArrayBuffer>): Promise<void> {
    this.assertOpen();
    const k = remoteKey(remote.uri, remote.deviceId);
    const existing = await this.identities.get(k);
    if (existing && sameBytes(existing.identityKey, identityKey)) return;
    const now = this.now();
    this.identities.set(k, {
      remoteUri: remote.uri,
      remoteDevice: remote.deviceId,
      identityKey,
      firstSeenAt: existing?.firstSeenAt ?? now,
      changedAt: existing ? now : null,
    });
  }

  // ---- libsignal SessionStore -----------------------------------------------------------------------------------

  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.assertOpen();
    const remote = addressOf(name);
    this.sessions.set(remoteKey(remote.uri, remote.deviceId), {
      remoteUri: remote.uri,
      remoteDevice: remote.deviceId,
      record: record.serialize(),
      updatedAt: this.now(),
    });
  }

  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    return (await this.sessionRecord(addressOf(name))) ?? null;
  }

  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    for (const name of addresses) {
      const record = await this.sessionRecord(addressOf(name));
      if (!record) throw this.fail("no-session", `no session with ${name.toString()}`);
      records.push(record);
    }
    return records;
  }

  async sessionRecord(remote: DeviceAddress): Promise<SessionRecord | undefined> {
    const row = await this.sessions.get(remoteKey(remote.uri, remote.deviceId));
    return row ? SessionRecord.deserialize(row.record) : undefined;
  }

  /** Device IDs of `remoteUri` that this device holds a session record for, ascending. */
  async sessionDevices(remoteUri: string): Promise<number[]> {
    const rows = await this.reads.all<{ remote_device: number; record: Buffer; updated_at: number }>(SQL.sessionsForUri, [this.localId, remoteUri]);
    const fromDb = rows.map((r): [string, SessionRow] => [
        remoteKey(remoteUri, r.remote_device),
        { remoteUri, remoteDevice: r.remote_device, record: bytes(r.record), updatedAt: r.updated_at },
      ]);
    return this.sessions
      .merge(fromDb, (row) => row.remoteUri === remoteUri)
      .map((row) => row.remoteDevice)
      .sort((a, b) => a - b);
  }

  deleteSession(remote: DeviceAddress): void {
    this.assertOpen();
    this.sessions.delete(remoteKey(remote.uri, remote.deviceId));
  }

  // ---- libsignal PreKeyStore ------------------------------------------------------------------------------------

  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.putPreKey({ keyId: id, record: record.serialize(), createdAt: this.now() });
  }

  async getPreKey(id: number): Promise<PreKeyRecord> {
    const row = await this.preKeys.get(String(id));
    if (!row) throw this.fail("unknown-prekey", `one-time prekey ${id} of ${formatDevice(this.local)} is gone`);
    return PreKeyRecord.deserialize(row.record);
  }

  async removePreKey(id: number): Promise<void> {
    this.assertOpen();
    this.preKeys.delete(String(id));
  }

  putPreKey(row: PreKeyRow): void {
    this.assertOpen();
    this.preKeys.set(String(row.keyId), row);
  }

  // ---- libsignal SignedPreKeyStore ------------------------------------------------------------------------------

  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.putSignedPreKey({ keyId: id, record: record.serialize(), createdAt: this.now(), supersededAt: null });
  }

  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const row = await this.signedPreKeys.get(String(id));
    if (!row) throw this.fail("unknown-prekey", `signed prekey ${id} of ${formatDevice(this.local)} is gone`);
    return SignedPreKeyRecord.deserialize(row.record);
  }

  putSignedPreKey(row: SignedPreKeyRow): void {
    this.assertOpen();
    this.signedPreKeys.set(String(row.keyId), row);
  }

  deleteSignedPreKey(keyId: number): void {
    this.assertOpen();
    this.signedPreKeys.delete(String(keyId));
  }

  async listSignedPreKeys(): Promise<SignedPreKeyRow[]> {
    const rows = await this.reads.all<{ key_id: number; record: Buffer; created_at: number; superseded_at: number | null }>(SQL.signedAll, [this.localId]);
    const fromDb = rows.map((r): [string, SignedPreKeyRow] => [
        String(r.key_id),
        { keyId: r.key_id, record: bytes(r.record), createdAt: r.created_at, supersededAt: r.superseded_at },
      ]);
    return this.signedPreKeys.merge(fromDb, () => true).sort((a, b) => a.keyId - b.keyId);
  }

  // ---- libsignal KyberPreKeyStore -------------------------------------------------------------------------------

  async saveKyberPreKey(kyberPreKeyId: number, record: KyberPreKeyRecord): Promise<void> {
    this.putKyberPreKey({
      keyId: kyberPreKeyId,
      record: record.serialize(),
      lastResort: false,
      createdAt: this.now(),
      supersededAt: null,
    });
  }

  async getKyberPreKey(kyberPreKeyId: number): Promise<KyberPreKeyRecord> {
    const row = await this.kyberPreKeys.get(String(kyberPreKeyId));
    if (!row) {
      throw this.fail("unknown-prekey", `Kyber prekey ${kyberPreKeyId} of ${formatDevice(this.local)} is gone`);
    }
    return KyberPreKeyRecord.deserialize(row.record);
  }

  /**
   * One-time Kyber prekeys are deleted; a last-resort key stays, but the same (signed prekey, base key) pair must
   * not be accepted twice, or a recorded PreKey message could be replayed into a fresh session.
   */
  async markKyberPreKeyUsed(kyberPreKeyId: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    this.assertOpen();
    const row = await this.kyberPreKeys.get(String(kyberPreKeyId));
    if (!row) {
      throw this.fail("unknown-prekey", `Kyber prekey ${kyberPreKeyId} of ${formatDevice(this.local)} is gone`);
    }
    if (!row.lastResort) {
      this.kyberPreKeys.delete(String(kyberPreKeyId));
      return;
    }
    const base = baseKey.serialize();
    const seenPending = this.kyberUses.some(
      (u) => u.keyId === kyberPreKeyId && u.signedPreKeyId === signedPreKeyId && sameBytes(u.baseKey, base),
    );
    if (seenPending || (await this.reads.get(SQL.kyberUseExists, [this.localId, kyberPreKeyId, signedPreKeyId, base])) !== undefined) {
      throw this.fail(
        "replayed-prekey-message",
        `PreKey message reuses last-resort Kyber prekey ${kyberPreKeyId} with a base key seen before`,
      );
    }
    this.kyberUses.push({ keyId: kyberPreKeyId, signedPreKeyId, baseKey: base, usedAt: this.now() });
  }

  putKyberPreKey(row: KyberPreKeyRow): void {
    this.assertOpen();
    this.kyberPreKeys.set(String(row.keyId), row);
  }

  deleteKyberPreKey(keyId: number): void {
    this.assertOpen();
    this.kyberPreKeys.delete(String(keyId));
  }

  async listKyberLastResortPreKeys(): Promise<KyberPreKeyRow[]> {
    const rows = await this.reads.all<{ key_id: number; record: Buffer; created_at: number; superseded_at: number | null }>(SQL.kyberAllLastResort, [this.localId]);
    const fromDb = rows.map((r): [string, KyberPreKeyRow] => [
      String(r.key_id),
      {
        keyId: r.key_id,
        record: bytes(r.record),
        lastResort: true,
        createdAt: r.created_at,
        supersededAt: r.superseded_at,
      },
    ]);
    return this.kyberPreKeys.merge(fromDb, (row) => row.lastResort).sort((a, b) => a.keyId - b.keyId);
  }

  // ---- key IDs --------------------------------------------------------------------------------------------------

  /** Reserves `count` consecutive fresh key IDs of one kind and returns the first. IDs are never handed out twice. */
  allocateKeyIds(kind: KeyIdKind, count: number): number {
    this.assertOpen();
    if (!Number.isInteger(count) || count < 1) {
      throw new SignalError("invalid-argument", `key ID count must be a positive integer, got ${String(count)}`);
    }
    const first = this.nextIds[kind];
    if (first + count - 1 > MAX_KEY_ID) {
      throw new SignalError("invalid-argument", `${kind} IDs of ${formatDevice(this.local)} are exhausted`);
    }
    this.nextIds[kind] = first + count;
    this.idsChanged = true;
    return first;
  }
}

function splitRemoteKey(key: string): [string, number] {
  const cut = key.lastIndexOf("\u0000");
  return [key.slice(0, cut), Number(key.slice(cut + 1))];
}
