// Local identities (created once per device) and what we know about remote identities.
import { Fingerprint, IdentityKeyPair, PublicKey } from "@signalapp/libsignal-client";
import { randomInt } from "node:crypto";
import type { SqlDatabase } from "../../sql/sql.js";
import { checkDeviceAddress, type DeviceAddress } from "./address.js";
import { insertLocalDevice, SignalDeviceStore, type SignalDeviceStoreOptions, type SignalUnitOfWork } from "./device-store.js";
import { SignalError } from "./errors.js";

// Signal's registration IDs are 14-bit and never 0.
const MAX_REGISTRATION_ID = 16380;

export interface EnsureLocalIdentityOptions extends SignalDeviceStoreOptions {
  deviceId: number;
  /** Fixed registration ID (tests); random otherwise. */
  registrationId?: number;
}

/**
 * Returns the Signal store of a local device, creating its identity key pair and registration ID the first time.
 * Creating is idempotent: a device that already has an identity keeps it.
 */
export async function ensureLocalIdentity(
  db: SqlDatabase,
  uri: string,
  options: EnsureLocalIdentityOptions,
): Promise<SignalDeviceStore> {
  const local: DeviceAddress = { uri, deviceId: options.deviceId };
  checkDeviceAddress(local, "local");
  const registrationId = options.registrationId ?? randomInt(1, MAX_REGISTRATION_ID + 1);
  if (!Number.isInteger(registrationId) || registrationId < 1 || registrationId > MAX_REGISTRATION_ID) {
    throw new SignalError("invalid-argument", `registration ID must be in 1..${MAX_REGISTRATION_ID}`);
  }
  const now = (options.now ?? Date.now)();
  await insertLocalDevice(db, local, IdentityKeyPair.generate(), registrationId, now);
  return SignalDeviceStore.open(db, local, options);
}

/** The local device's identity public key (serialized, as it appears in bundles). */
export function localIdentityKey(uow: SignalUnitOfWork): Uint8Array<ArrayBuffer> {
  return uow.identityKeyPair().publicKey.serialize();
}

/** The identity key we hold for a remote device (serialized), or null before the first session with it. */
export async function getRemoteIdentity(uow: SignalUnitOfWork, remote: DeviceAddress): Promise<Uint8Array<ArrayBuffer> | null> {
  checkDeviceAddress(remote, "remote");
  return (await uow.remoteIdentity(remote)) ?? null;
}

export interface SafetyNumber {
  /** 60 digits, shown in groups of five; equal on both sides when nobody is in the middle. */
  digits: string;
  /** The QR-code payload that the other side can compare with its own. */
  scannable: Uint8Array<ArrayBuffer>;
}

// Signal's parameters for version-2 fingerprints over stable identifiers.
const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = 2;

/**
 * The safety number between the local device and a remote device, from both identity keys and URIs; null when the
 * remote identity is not known yet. Every device has its own identity, so the number is per device pair.
 */
export async function safetyNumber(uow: SignalUnitOfWork, remote: DeviceAddress): Promise<SafetyNumber | null> {
  const remoteKey = await getRemoteIdentity(uow, remote);
  if (!remoteKey) return null;
  const encoder = new TextEncoder();
  const fingerprint = Fingerprint.new(
    FINGERPRINT_ITERATIONS,
    FINGERPRINT_VERSION,
    encoder.encode(uow.local.uri),
    uow.identityKeyPair().publicKey,
    encoder.encode(remote.uri),
    PublicKey.deserialize(remoteKey),
  );
  return {
    digits: fingerprint.displayableFingerprint().toString(),
    scannable: fingerprint.scannableFingerprint().toBuffer(),
  };
}
