// Multi-device fan-out: one Signal ciphertext per current device of the recipient, all for one logical message.
// Devices without a usable session get one from a fresh prekey bundle first. The network I/O (bundle fetches)
// happens before the device lock is taken; the lock covers only session set-up, encryption and the commit.
import { makeEnvelope } from "../protocol/envelope.js";
import { EnvelopeType, type Envelope } from "../protocol/gen/interop_pb.js";
import type { DevicePreKeyBundle } from "../protocol/signal/bundle.js";
import type { SignalDeviceStore } from "../protocol/signal/device-store.js";
import {
  deleteSession,
  encryptTo,
  sessionDevices,
  sessionRegistrationId,
  startSessionFromBundle,
} from "../protocol/signal/sessions.js";
import type { DeviceHints } from "./device-hints.js";
import { GatekeeperHttpError, InteropSendError } from "./errors.js";
import type { GatekeeperApi } from "./http-api.js";
import { redactUri } from "../log.js";

export interface FanoutRequest {
  /** The sending local device (device 1 of a Matrix user). */
  from: SignalDeviceStore;
  /** Recipient URI (tel:+...). */
  to: string;
  /** Padded Content bytes, as encodeContent returns them. */
  plaintext: Uint8Array;
  /** 16-byte message ID, shared by every device copy. */
  messageId: Uint8Array;
  timestampMs?: bigint;
  /** Devices whose sessions must be rebuilt from fresh bundles (the gatekeeper said they were re-registered). */
  rebuild?: ReadonlySet<number>;
  /**
   * Runs inside the database transaction that commits the ratchet state, so what it writes (an outbox row) exists
   * exactly when the ratchet step does.
   */
  persist?: (out: FanoutResult) => Promise<void> | void;
}

export interface FanoutResult {
  /** One envelope per recipient device, ready for one Send frame. */
  envelopes: Envelope[];
  devices: number[];
  /** Devices whose identity key changed (a reinstall): tell the user the security code changed. */
  identityChangedDevices: number[];
}

export interface FanoutDeps {
  api: GatekeeperApi;
  hints: DeviceHints;
}

/** Encrypts one message for every current device of `to`, committing the ratchet steps (and `persist`) together. */
export async function encryptForDevices(deps: FanoutDeps, request: FanoutRequest): Promise<FanoutResult> {
  const { from, to } = request;
  const rebuild = request.rebuild ?? new Set<number>();
  const bundles = new Map<number, DevicePreKeyBundle>();
  let targets: number[];

  // Which devices, and which of them need a bundle: read without the lock (a stale read only costs a bundle).
  const look = await from.begin();
  let known = deps.hints.get(to);
  const withSessions = await sessionDevices(look, to);
  if (!known && withSessions.length > 0) {
    // Sessions, but no word on the device list since this process started or reconnected: ask the directory rather
    // than guess from the sessions, so a device added meanwhile gets its copy without a STALE_DEVICES round trip.
    const entry = await fetchDirectory(deps.api, to);
    deps.hints.setDevices(to, entry.devices.map((d) => d.deviceId));
    for (const d of entry.devices) deps.hints.setRegistration(to, d.deviceId, d.registrationId);
    known = deps.hints.get(to);
  }
  const listed = known ? [...known.keys()] : withSessions;
  if (listed.length === 0) {
    // First contact: one request returns bundles for all devices.
    const response = await fetchBundles(deps.api, to);
    for (const bundle of response.devices) bundles.set(bundle.deviceId, bundle);
    targets = response.devices.map((b) => b.deviceId);
    deps.hints.setDevices(to, targets);
  } else {
    const missing: number[] = [];
    for (const deviceId of listed) {
      const registrationId = rebuild.has(deviceId) ? null : await sessionRegistrationId(look, { uri: to, deviceId });
      const current = known?.get(deviceId);
      if (registrationId === null || (current !== undefined && current !== registrationId)) missing.push(deviceId);
    }
    const gone = new Set<number>();
    await Promise.all(
      missing.map(async (deviceId) => {
        const bundle = await fetchDeviceBundle(deps.api, to, deviceId);
        if (bundle) bundles.set(deviceId, bundle);
        else gone.add(deviceId);
      }),
    );
    targets = listed.filter((d) => !gone.has(d));
    if (gone.size > 0) deps.hints.setDevices(to, targets);
  }
  look.discard();
  for (const bundle of bundles.values()) deps.hints.setRegistration(to, bundle.deviceId, bundle.registrationId);
  if (targets.length === 0) throw new InteropSendError("NO_DEVICES", `${redactUri(to)} has no devices to send to`);
  targets.sort((a, b) => a - b);

  const timestampMs = request.timestampMs ?? BigInt(Date.now());
  return from.transact(async (uow) => {
    const identityChangedDevices: number[] = [];
    for (const [deviceId, bundle] of bundles) {
      const { identityChanged } = await startSessionFromBundle(uow, { uri: to, deviceId }, bundle);
      if (identityChanged) identityChangedDevices.push(deviceId);
    }
    // Sessions with devices the recipient no longer has are dead weight; a returning device gets a fresh one.
    for (const deviceId of await sessionDevices(uow, to)) {
      if (!targets.includes(deviceId)) deleteSession(uow, { uri: to, deviceId });
    }
    const envelopes: Envelope[] = [];
    for (const deviceId of targets) {
      const encrypted = await encryptTo(uow, { uri: to, deviceId }, request.plaintext);
      envelopes.push(
        makeEnvelope({
          id: request.messageId,
          timestampMs,
          sender: from.local.uri,
          senderDevice: from.local.deviceId,
          recipient: to,
          recipientDevice: deviceId,
          type: encrypted.type === "prekey" ? EnvelopeType.PREKEY_MESSAGE : EnvelopeType.MESSAGE,
          ciphertext: encrypted.ciphertext,
          recipientRegistrationId: encrypted.remoteRegistrationId,
        }),
      );
    }
    return { envelopes, devices: [...targets], identityChangedDevices: identityChangedDevices.sort((a, b) => a - b) };
  }, request.persist);
}

/** Bundles of all devices; a recipient that cannot be reached becomes the matching InteropSendError. */
async function fetchBundles(api: GatekeeperApi, to: string) {
  try {
    return await api.fetchBundles(to);
  } catch (err) {
    throw asSendError(err, to) ?? err;
  }
}

async function fetchDirectory(api: GatekeeperApi, to: string) {
  try {
    return await api.directory(to);
  } catch (err) {
    throw asSendError(err, to) ?? err;
  }
}

/** One device's bundle, or undefined when the gatekeeper says that device does not exist (any more). */
async function fetchDeviceBundle(api: GatekeeperApi, to: string, deviceId: number): Promise<DevicePreKeyBundle | undefined> {
  try {
    return (await api.fetchBundles(to, deviceId)).devices[0];
  } catch (err) {
    if (err instanceof GatekeeperHttpError && err.status === 404 && err.errcode === "NOT_FOUND") return undefined;
    throw asSendError(err, to) ?? err;
  }
}

function asSendError(err: unknown, to: string): InteropSendError | undefined {
  if (!(err instanceof GatekeeperHttpError)) return undefined;
  if (err.errcode === "UNKNOWN_USER") return new InteropSendError("UNKNOWN_USER", `${redactUri(to)} is not on the gatekeeper: ${err.message}`);
  if (err.errcode === "NOT_OPTED_IN") return new InteropSendError("NOT_OPTED_IN", `${redactUri(to)} does not accept chats from this provider`);
  return undefined;
}
