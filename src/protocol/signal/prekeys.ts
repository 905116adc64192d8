// Prekeys of a local device: generation, refill and rotation, producing the upload for the gatekeeper's key service.
// Every function writes into a unit of work; commit it before uploading, so the gatekeeper never hands out a key
// whose private half a crash could still lose.
import { KEMKeyPair, KyberPreKeyRecord, PreKeyRecord, PrivateKey, SignedPreKeyRecord } from "@signalapp/libsignal-client";
import type { DeviceKeysUpload, PublicPreKey, SignedPublicPreKey } from "./bundle.js";
import type { KyberPreKeyRow, SignalUnitOfWork, SignedPreKeyRow } from "./device-store.js";
import { SignalError } from "./errors.js";

export const DEFAULT_ONE_TIME_PREKEYS = 100;
/** Superseded signed and last-resort prekeys stay this long, so PreKey messages still in flight can be decrypted. */
export const DEFAULT_PREKEY_GRACE_MS = 30 * 24 * 60 * 60 * 1000;
const MAX_BATCH = 1000;

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

function checkCount(count: number, what: string): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_BATCH) {
    throw new SignalError("invalid-argument", `${what} must be an integer in 0..${MAX_BATCH}, got ${String(count)}`);
  }
}

function current<T extends { supersededAt: number | null; keyId: number }>(rows: T[]): T | undefined {
  // The newest key that nothing superseded; IDs only grow, so the highest ID is the newest.
  return rows.filter((r) => r.supersededAt === null).sort((a, b) => b.keyId - a.keyId)[0];
}

function newSignedPreKey(uow: SignalUnitOfWork, now: number): SignedPreKeyRow {
  const identity = uow.identityKeyPair().privateKey;
  const keyId = uow.allocateKeyIds("signedPrekey", 1);
  const priv = PrivateKey.generate();
  const pub = priv.getPublicKey();
  const record = SignedPreKeyRecord.new(keyId, now, pub, priv, identity.sign(pub.serialize()));
  const row: SignedPreKeyRow = { keyId, record: record.serialize(), createdAt: now, supersededAt: null };
  uow.putSignedPreKey(row);
  return row;
}

function newKyberPreKey(uow: SignalUnitOfWork, keyId: number, lastResort: boolean, now: number): KyberPreKeyRow {
  const identity = uow.identityKeyPair().privateKey;
  const pair = KEMKeyPair.generate();
  const record = KyberPreKeyRecord.new(keyId, now, pair, identity.sign(pair.getPublicKey().serialize()));
  const row: KyberPreKeyRow = { keyId, record: record.serialize(), lastResort, createdAt: now, supersededAt: null };
  uow.putKyberPreKey(row);
  return row;
}

function signedWire(row: SignedPreKeyRow): SignedPublicPreKey {
  const record = SignedPreKeyRecord.deserialize(row.record);
  return { keyId: row.keyId, publicKey: b64(record.publicKey().serialize()), signature: b64(record.signature()) };
}

function kyberWire(row: KyberPreKeyRow): SignedPublicPreKey {
  const record = KyberPreKeyRecord.deserialize(row.record);
  return { keyId: row.keyId, publicKey: b64(record.publicKey().serialize()), signature: b64(record.signature()) };
}

/** The current signed prekey and last-resort Kyber prekey, created when the device has none yet. */
async function currentKeys(uow: SignalUnitOfWork, now: number): Promise<{ signed: SignedPreKeyRow; lastResort: KyberPreKeyRow }> {
  const signed = current(await uow.listSignedPreKeys()) ?? newSignedPreKey(uow, now);
  const lastResort =
    current(await uow.listKyberLastResortPreKeys()) ??
    newKyberPreKey(uow, uow.allocateKeyIds("kyberPrekey", 1), true, now);
  return { signed, lastResort };
}

function uploadOf(
  uow: SignalUnitOfWork,
  keys: { signed: SignedPreKeyRow; lastResort: KyberPreKeyRow },
): DeviceKeysUpload {
  return {
    deviceId: uow.local.deviceId,
    registrationId: uow.localRegistrationId(),
    identityKey: b64(uow.identityKeyPair().publicKey.serialize()),
    signedPreKey: signedWire(keys.signed),
    kyberLastResortPreKey: kyberWire(keys.lastResort),
  };
}

export interface PreKeyBatch {
  /** One-time EC prekeys to generate. */
  oneTimePreKeys: number;
  /** One-time Kyber prekeys to generate; defaults to `oneTimePreKeys`. */
  oneTimeKyberPreKeys?: number;
}

/**
 * Generates `count` one-time EC and Kyber prekeys with fresh IDs and returns the upload carrying them together
 * with the current signed and last-resort prekeys (created first if the device has none: this is also the initial
 * upload). Use it when the gatekeeper reports that few one-time prekeys are left.
 */
export async function refillPreKeys(uow: SignalUnitOfWork, count: number | PreKeyBatch): Promise<DeviceKeysUpload> {
  const batch = typeof count === "number" ? { oneTimePreKeys: count } : count;
  const ec = batch.oneTimePreKeys;
  const kyber = batch.oneTimeKyberPreKeys ?? ec;
  checkCount(ec, "one-time prekey count");
  checkCount(kyber, "one-time Kyber prekey count");
  const now = uow.store.now();
  const upload = uploadOf(uow, await currentKeys(uow, now));

  const preKeys: PublicPreKey[] = [];
  if (ec > 0) {
    const first = uow.allocateKeyIds("prekey", ec);
    for (let keyId = first; keyId < first + ec; keyId++) {
      const priv = PrivateKey.generate();
      const pub = priv.getPublicKey();
      uow.putPreKey({ keyId, record: PreKeyRecord.new(keyId, pub, priv).serialize(), createdAt: now });
      preKeys.push({ keyId, publicKey: b64(pub.serialize()) });
    }
  }
  const kyberPreKeys: SignedPublicPreKey[] = [];
  if (kyber > 0) {
    const first = uow.allocateKeyIds("kyberPrekey", kyber);
    for (let keyId = first; keyId < first + kyber; keyId++) {
      kyberPreKeys.push(kyberWire(newKyberPreKey(uow, keyId, false, now)));
    }
  }
  return { ...upload, oneTimePreKeys: preKeys, oneTimeKyberPreKeys: kyberPreKeys };
}

/** The initial upload of a device: current signed and last-resort prekeys plus a batch of one-time prekeys. */
export function createDeviceKeysUpload(
  uow: SignalUnitOfWork,
  batch: PreKeyBatch = { oneTimePreKeys: DEFAULT_ONE_TIME_PREKEYS },
): Promise<DeviceKeysUpload> {
  return refillPreKeys(uow, batch);
}

export interface RotationOptions {
  /** How long superseded keys stay usable for in-flight PreKey messages. */
  graceMs?: number;
}

/**
 * Replaces the signed prekey and the last-resort Kyber prekey when the current ones are older than `maxAgeMs`
 * (or missing), keeping the previous ones for the grace period, and deletes superseded keys whose grace period is
 * over. Returns the upload with the new keys (no one-time lists: the server keeps its one-time keys), or null
 * when nothing was due.
 */
export async function rotateSignedPreKey(
  uow: SignalUnitOfWork,
  maxAgeMs: number,
  options: RotationOptions = {},
): Promise<DeviceKeysUpload | null> {
  if (!(maxAgeMs >= 0)) throw new SignalError("invalid-argument", "maxAgeMs must be a non-negative number");
  const graceMs = options.graceMs ?? DEFAULT_PREKEY_GRACE_MS;
  const now = uow.store.now();

  for (const row of await uow.listSignedPreKeys()) {
    if (row.supersededAt !== null && row.supersededAt + graceMs <= now) uow.deleteSignedPreKey(row.keyId);
  }
  for (const row of await uow.listKyberLastResortPreKeys()) {
    if (row.supersededAt !== null && row.supersededAt + graceMs <= now) uow.deleteKyberPreKey(row.keyId);
  }

  const signed = current(await uow.listSignedPreKeys());
  const lastResort = current(await uow.listKyberLastResortPreKeys());
  const due = (row: { createdAt: number } | undefined) => row === undefined || now - row.createdAt >= maxAgeMs;
  if (!due(signed) && !due(lastResort)) return null;

  if (signed) uow.putSignedPreKey({ ...signed, supersededAt: now });
  if (lastResort) uow.putKyberPreKey({ ...lastResort, supersededAt: now });
  const fresh = {
    signed: newSignedPreKey(uow, now),
    lastResort: newKyberPreKey(uow, uow.allocateKeyIds("kyberPrekey", 1), true, now),
  };
  return uploadOf(uow, fresh);
}
