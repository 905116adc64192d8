// Local identities (created once per device) and what we know about remote identities.
import { Fingerprint, IdentityKeyPair, PublicKey, ScannableFingerprint } from "@signalapp/libsignal-client";
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
  return safetyNumberOf(uow.local.uri, uow.identityKeyPair().publicKey.serialize(), remote.uri, remoteKey);
}

/**
 * The safety number of two identities (interop-protocol §9.1): libsignal's Fingerprint, version 2, 5200 iterations,
 * over the canonical URIs in UTF-8 and the serialized identity keys. Symmetric in its digits: both sides show the
 * same 60 digits; the scannable forms mirror each other.
 */
export function safetyNumberOf(localUri: string, localKey: Uint8Array, remoteUri: string, remoteKey: Uint8Array): SafetyNumber {
  const encoder = new TextEncoder();
  const fingerprint = Fingerprint.new(
    FINGERPRINT_ITERATIONS,
    FINGERPRINT_VERSION,
    encoder.encode(localUri),
    PublicKey.deserialize(Uint8Array.from(localKey)),
    encoder.encode(remoteUri),
    PublicKey.deserialize(Uint8Array.from(remoteKey)),
  );
  return {
    digits: fingerprint.displayableFingerprint().toString(),
    scannable: fingerprint.scannableFingerprint().toBuffer(),
  };
}

/** Whether a scanned code (the other side's scannable fingerprint) matches ours; false for bytes that do not parse. */
export function scannableMatches(ours: Uint8Array, theirs: Uint8Array): boolean {
  try {
    return ScannableFingerprint._fromBuffer(Uint8Array.from(ours)).compare(ScannableFingerprint._fromBuffer(Uint8Array.from(theirs)));
  } catch {
    return false;
  }
}

export interface RemoteIdentity {
  deviceId: number;
  /** Serialized public key. */
  identityKey: Uint8Array<ArrayBuffer>;
}

/** The identities of a remote user's current devices (those we have a session with), lowest device first. */
export async function currentRemoteIdentities(uow: SignalUnitOfWork, remoteUri: string): Promise<RemoteIdentity[]> {
  const out: RemoteIdentity[] = [];
  for (const deviceId of [...(await uow.sessionDevices(remoteUri))].sort((a, b) => a - b)) {
    const identityKey = await uow.remoteIdentity({ uri: remoteUri, deviceId });
    if (identityKey) out.push({ deviceId, identityKey });
  }
  return out;
}
