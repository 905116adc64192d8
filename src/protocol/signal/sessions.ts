// Signal sessions between a local device and remote devices: set-up from a prekey bundle, encrypt, decrypt.
// Every function takes the unit of work it reads and writes through; committing it is the caller's job.
//
// Identity changes: the policy is trust on first use, and a changed identity key is accepted (as WhatsApp does,
// with a "security code changed" notice) but always reported. libsignal asks isTrustedIdentity before it uses a
// key from a bundle or a PreKey message and calls saveIdentity after every successful operation; the unit of work
// counts the saves that replaced a different key, so the operation that first sees a new key returns
// `identityChanged: true`, and later ones (which find the new key stored) return false.
import {
  CiphertextMessageType,
  KEMPublicKey,
  PreKeyBundle,
  PreKeySignalMessage,
  PublicKey,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  SignalMessage,
} from "@signalapp/libsignal-client";
import { checkDeviceAddress, type DeviceAddress, formatDevice, toProtocolAddress } from "./address.js";
import { type DevicePreKeyBundle, devicePreKeyBundleSchema } from "./bundle.js";
import type { SignalUnitOfWork } from "./device-store.js";
import { SignalError, translateLibsignalError } from "./errors.js";
import { sendingPosition } from "./ratchet-watch.js";

/** `prekey` = libsignal PreKeySignalMessage (envelope type PREKEY_MESSAGE), `message` = SignalMessage (MESSAGE). */
export type CiphertextKind = "prekey" | "message";

/** A copy of the bytes backed by a plain ArrayBuffer, as libsignal's typings ask for. */
function ownBytes(data: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(data);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, "base64"));
}

function time(uow: SignalUnitOfWork): Date {
  return new Date(uow.store.now());
}

/**
 * Builds a session with a remote device from its prekey bundle (X3DH + Kyber, i.e. PQXDH); the next encryptTo
 * gives a PreKey message. Replaces any earlier session with that device.
 */
export async function startSessionFromBundle(
  uow: SignalUnitOfWork,
  remote: DeviceAddress,
  bundle: DevicePreKeyBundle,
): Promise<{ identityChanged: boolean }> {
  checkDeviceAddress(remote, "remote");
  const parsed = devicePreKeyBundleSchema.safeParse(bundle);
  if (!parsed.success) {
    throw new SignalError("invalid-bundle", `prekey bundle of ${formatDevice(remote)}: ${parsed.error.message}`);
  }
  const b = parsed.data;
  if (b.deviceId !== remote.deviceId) {
    throw new SignalError("invalid-bundle", `bundle is for device ${b.deviceId}, expected ${formatDevice(remote)}`);
  }
  let native: PreKeyBundle;
  try {
    native = PreKeyBundle.new(
      b.registrationId,
      b.deviceId,
      b.preKey ? b.preKey.keyId : null,
      b.preKey ? PublicKey.deserialize(fromBase64(b.preKey.publicKey)) : null,
      b.signedPreKey.keyId,
      PublicKey.deserialize(fromBase64(b.signedPreKey.publicKey)),
      fromBase64(b.signedPreKey.signature),
      PublicKey.deserialize(fromBase64(b.identityKey)),
      b.kyberPreKey.keyId,
      KEMPublicKey.deserialize(fromBase64(b.kyberPreKey.publicKey)),
      fromBase64(b.kyberPreKey.signature),
    );
  } catch (err) {
    throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-bundle", `prekey bundle of ${formatDevice(remote)} has a bad key`);
  }
  const before = uow.identityChangeCount(remote);
  try {
    await processPreKeyBundle(native, toProtocolAddress(remote), toProtocolAddress(uow.local), uow, uow, time(uow));
  } catch (err) {
    throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-bundle", `session set-up with ${formatDevice(remote)} failed`);
  }
  return { identityChanged: uow.identityChangeCount(remote) > before };
}

/** Whether there is a session with the remote device that can encrypt now. */
export async function hasSession(uow: SignalUnitOfWork, remote: DeviceAddress): Promise<boolean> {
  checkDeviceAddress(remote, "remote");
  return (await uow.sessionRecord(remote))?.hasCurrentState(time(uow)) ?? false;
}

/** Registration ID of the remote device the current session was built with (for Envelope.recipient_registration_id). */
export async function sessionRegistrationId(uow: SignalUnitOfWork, remote: DeviceAddress): Promise<number | null> {
  checkDeviceAddress(remote, "remote");
  const record = await uow.sessionRecord(remote);
  return record?.hasCurrentState(time(uow)) ? record.remoteRegistrationId() : null;
}

/** Device IDs of a remote user that we hold session records for. */
export function sessionDevices(uow: SignalUnitOfWork, remoteUri: string): Promise<number[]> {
  return uow.sessionDevices(remoteUri);
}

/** Forgets the session with a remote device (it was removed, or re-registered with a new identity). */
export function deleteSession(uow: SignalUnitOfWork, remote: DeviceAddress): void {
  checkDeviceAddress(remote, "remote");
  uow.deleteSession(remote);
}

export interface EncryptedMessage {
  type: CiphertextKind;
  ciphertext: Uint8Array<ArrayBuffer>;
  /** The recipient device's registration ID as the session knows it. */
  remoteRegistrationId: number;
}

/** Encrypts one plaintext (already padded by the caller) for one remote device with an existing session. */
export async function encryptTo(
  uow: SignalUnitOfWork,
  remote: DeviceAddress,
  plaintext: Uint8Array,
): Promise<EncryptedMessage> {
  checkDeviceAddress(remote, "remote");
  const record = await uow.sessionRecord(remote);
  if (!record?.hasCurrentState(time(uow))) {
    throw new SignalError("no-session", `no session with ${formatDevice(remote)}; fetch its bundle first`);
  }
  let message;
  try {
    message = await signalEncrypt(
      ownBytes(plaintext),
      toProtocolAddress(remote),
      toProtocolAddress(uow.local),
      uow,
      uow,
      time(uow),
    );
  } catch (err) {
    throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-argument", `encrypting for ${formatDevice(remote)} failed`);
  }
  const kind = message.type();
  if (kind !== CiphertextMessageType.PreKey && kind !== CiphertextMessageType.Whisper) {
    throw new SignalError("invalid-message", `libsignal produced an unexpected message type ${kind}`);
  }
  const type = kind === CiphertextMessageType.PreKey ? "prekey" : "message";
  const ciphertext = message.serialize();
  uow.noteSent(remote, sendingPosition(type, ciphertext));
  return { type, ciphertext, remoteRegistrationId: record.remoteRegistrationId() };
}

export interface DecryptedMessage {
  plaintext: Uint8Array<ArrayBuffer>;
  /** True when this message was the first to show a new identity key for the sender device. */
  identityChanged: boolean;
}

/**
 * Decrypts one envelope's ciphertext from a remote device. A `prekey` message may start a new session (consuming
 * our one-time prekeys); a `message` needs an existing session. Redelivered ciphertexts fail with
 * `duplicate-message`: deduplicate by envelope ID before calling this.
 */
export async function decryptFrom(
  uow: SignalUnitOfWork,
  remote: DeviceAddress,
  type: CiphertextKind,
  ciphertext: Uint8Array,
): Promise<DecryptedMessage> {
  checkDeviceAddress(remote, "remote");
  const before = uow.identityChangeCount(remote);
  const address = toProtocolAddress(remote);
  const local = toProtocolAddress(uow.local);
  let plaintext: Uint8Array<ArrayBuffer>;
  if (type === "prekey") {
    let message: PreKeySignalMessage;
    try {
      message = PreKeySignalMessage.deserialize(ownBytes(ciphertext));
    } catch (err) {
      throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-message", `PreKey message from ${formatDevice(remote)} is malformed`);
    }
    try {
      plaintext = await signalDecryptPreKey(message, address, local, uow, uow, uow, uow, uow);
    } catch (err) {
      throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-message", `PreKey message from ${formatDevice(remote)}`);
    }
  } else if (type === "message") {
    if (!(await uow.sessionRecord(remote))) {
      throw new SignalError("no-session", `message from ${formatDevice(remote)} but no session with it`);
    }
    let message: SignalMessage;
    try {
      message = SignalMessage.deserialize(ownBytes(ciphertext));
    } catch (err) {
      throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-message", `message from ${formatDevice(remote)} is malformed`);
    }
    try {
      plaintext = await signalDecrypt(message, address, local, uow, uow);
    } catch (err) {
      throw uow.takeStoreFailure() ?? translateLibsignalError(err, "invalid-message", `message from ${formatDevice(remote)}`);
    }
  } else {
    throw new SignalError("invalid-argument", `unknown ciphertext type ${String(type)}`);
  }
  return { plaintext, identityChanged: uow.identityChangeCount(remote) > before };
}
