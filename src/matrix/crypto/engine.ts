// Matrix end-to-end encryption for the bridge's own users: the bot and every puppet is a real device of its own
// (MSC4190), with keys in a persistent OlmMachine store and cross-signed by that user's own cross-signing keys, so
// clients show each puppet message as sent by a device its sender owns and verified.
//
// The engine knows devices, keys and rooms; it does not know portals. Callers pick which user decrypts an event.
import { redactDigits } from "../../log.js";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  CollectStrategy,
  DecryptionErrorCode,
  DecryptionSettings,
  DeviceLists,
  EncryptionAlgorithm,
  EncryptionSettings,
  HistoryVisibility,
  MegolmDecryptionError,
  RequestType,
  RoomId,
  TrustRequirement,
  UserId,
  type OlmMachine,
  type RoomKeyInfo,
  type RoomKeyWithheldInfo,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "pino";
import type { MatrixClient } from "../client.js";
import type { CryptoDeviceRegistry, CryptoDeviceRow } from "./device-registry.js";
import type { ToDeviceEvent } from "../events.js";
import type { OneTimeKeyCounts, UnusedFallbackKeyTypes } from "../transaction.js";
import { detachCryptoStorage, installCryptoStorage, storeNameOfDatabase } from "./indexeddb.js";
import { importLegacyStores, legacyStoreFiles } from "./legacy-import.js";
import { MachinePool, type MachineOwner } from "./machine-pool.js";
import { observed, type CryptoObserver } from "./observer.js";
import { deviceHttp, flushOutgoingRequests, sendToDevice, type DeviceHttp } from "./outgoing-requests.js";
import { MEGOLM, RoomStateCache, type RoomCryptoState } from "./room-state.js";
import type { CryptoRecordStore } from "./record-store.js";
import { loadOrCreateStoreKey } from "./store-key.js";
import { StoreLock } from "./store-lock.js";

export interface CryptoEngineOptions {
  client: MatrixClient;
  /** Which device each user has, and how far its to-device inbox was read (kept by the caller). */
  devices: CryptoDeviceRegistry;
  /** Where every device's crypto store lives (the bridge database). */
  records: CryptoRecordStore;
  /** Folder of the lock that keeps a second bridge process off the same crypto state; created with mode 0700. */
  storeDir: string;
  /** The store encryption key; kept outside storeDir. */
  keyPath: string;
  /** Shown in users' device lists, e.g. "WhatsApp bridge". */
  deviceDisplayName: string;
  /** Machines (devices with their crypto state in memory) kept open at most (default 128). */
  maxOpenMachines?: number;
  log: Logger;
  /** Room keys arrived (or were withheld) for these sessions: events waiting for them can be tried again. */
  onRoomKeys?: (roomId: string, sessionIds: string[]) => Promise<void> | void;
  /** Told of each encryption, decryption and to-device message, and of each store load (metrics). */
  observer?: CryptoObserver;
  /**
   * Which devices in a room get the room keys of the bridge's users: every device (the default), or only those their
   * owner cross-signed (the library's identity-based strategy; a user without cross-signing gets none).
   */
  shareKeysWith?: KeySharing;
  /** With cross_signed: the devices of the room's members that got no room key from `asUser` (called on every send). */
  onDevicesExcluded?: (asUser: string, roomId: string, devices: ExcludedDevice[]) => Promise<void> | void;
}

export type KeySharing = "all" | "cross_signed";

/** A device that room keys were withheld from, because its owner has not cross-signed it. */
export interface ExcludedDevice {
  userId: string;
  deviceId: string;
  displayName: string | undefined;
}

/** What decrypt needs of a room event; whatever else the caller's event type carries is kept. */
export interface EncryptedRoomEvent {
  room_id: string;
  content: Record<string, unknown>;
}

/** The outcome of decrypting a room event: the decrypted one is the caller's event with the clear type and content. */
export type DecryptOutcome<E extends EncryptedRoomEvent = EncryptedRoomEvent> =
  | { kind: "decrypted"; event: E & { type: string; content: Record<string, unknown> }; senderDevice: string | undefined }
  /** The room key has not arrived (yet). */
  | { kind: "missing_key"; sessionId: string }
  /** The sender's device declined to share the key with us; `reason` is its explanation. */
  | { kind: "withheld"; sessionId: string; code: string; reason: string }
  /** Cannot ever be decrypted (corrupt, forged, unknown algorithm ...). */
  | { kind: "failed"; reason: string };

/** A /sync filter that leaves only the device's to-device messages (and device-list changes). */
const TO_DEVICE_ONLY_FILTER = JSON.stringify({
  room: { rooms: [], account_data: { not_types: ["*"] }, ephemeral: { not_types: ["*"] }, state: { not_types: ["*"] }, timeline: { not_types: ["*"], limit: 0 } },
  presence: { not_types: ["*"] },
  account_data: { not_types: ["*"] },
});

export class MatrixCryptoEngine {
  readonly devices: CryptoDeviceRegistry;
  readonly rooms: RoomStateCache;
  private readonly pool: MachinePool;
  /** Users whose device is set up (keys uploaded, cross-signed) in this process. */
  private readonly ready = new Map<string, Promise<CryptoDeviceRow>>();
  /** Last key counts fed per device, so unchanged counts (sent with every transaction) cost nothing. */
  private readonly lastCounts = new Map<string, string>();
  /**
   * Whose device lists each open machine follows (read when it opens, added to when it encrypts): a device-list change
   * goes only to the machines that follow one of its users. Feeding every open machine every change made each new
   * puppet device cost a store write in every other open machine (opening N encrypted portals cost N²).
   */
  private readonly tracked = new Map<string, Set<string>>();

  private constructor(
    private readonly opts: CryptoEngineOptions,
    private readonly lock: StoreLock,
    storeKey: Uint8Array,
  ) {
    this.devices = opts.devices;
    this.rooms = new RoomStateCache(opts.client);
    this.pool = new MachinePool({
      storeKey,
      maxOpen: opts.maxOpenMachines ?? 128,
      log: opts.log,
      onOpen: (machine, owner) => this.onMachineOpen(machine, owner),
      ...(opts.observer ? { onStoreOpened: (seconds: number) => opts.observer!.storeOpened(seconds) } : {}),
    });
  }

  /**
   * Loads the wasm engine and takes the store folder's lock (one process per store). Crypto stores an older bridge
   * kept in files there are imported into the record store first.
   */
  static async start(opts: CryptoEngineOptions): Promise<MatrixCryptoEngine> {
    const lock = StoreLock.acquire(opts.storeDir);
    let engine: MatrixCryptoEngine | undefined;
    try {
      await installCryptoStorage(opts.records, (database, err) => {
        opts.log.error({ err, database }, "saving the Matrix crypto store failed; the operation was undone and the device's machine is reloaded");
        engine?.pool.discardStore(storeNameOfDatabase(database));
      });
      if (legacyStoreFiles(opts.storeDir).length > 0) {
        const storeNames = (await opts.devices.all()).map((d) => d.storeName);
        await importLegacyStores({ storeDir: opts.storeDir, storeNames, records: opts.records, log: opts.log });
      }
    } catch (err) {
      lock.release();
      throw err;
    }
    const storeKey = loadOrCreateStoreKey(opts.keyPath);
    engine = new MatrixCryptoEngine(opts, lock, storeKey);
    return engine;
  }

  async stop(): Promise<void> {
    await this.pool.close();
    detachCryptoStorage(this.opts.records);
    this.lock.release();
  }

  get openMachines(): number {
    return this.pool.openCount;
  }

  /** The device ID of a bridge user, if it has one. */
  async deviceOf(userId: string): Promise<string | undefined> {
    return (await this.devices.get(userId))?.deviceId;
  }

  // ------------------------------------------------------------------------------------------------ devices

  /**
   * Gives a registered bridge user its device: created on the homeserver, keys uploaded, cross-signed by the user's
   * own cross-signing keys. Idempotent, and cheap once done in this process. Returns the device ID.
   */
  async ensureDevice(userId: string): Promise<string> {
    let pending = this.ready.get(userId);
    if (!pending) {
      pending = this.setUpDevice(userId);
      this.ready.set(userId, pending);
      pending.catch(() => this.ready.get(userId) === pending && this.ready.delete(userId));
    }
    return (await pending).deviceId;
  }

  /**
   * Retires the user's device (deleted on the homeserver; its crypto store is no longer used) and gives the user a
   * new one, cross-signed again. For an admin repairing a device whose sessions are broken. Returns the new ID.
   */
  async resetDevice(userId: string): Promise<string> {
    const old = await this.devices.get(userId);
    if (!old) return this.ensureDevice(userId);
    const pending = this.setUpDevice(userId, old);
    this.ready.set(userId, pending);
    pending.catch(() => this.ready.get(userId) === pending && this.ready.delete(userId));
    const fresh = await pending;
    await this.opts.client
      .request("DELETE", `/_matrix/client/v3/devices/${encodeURIComponent(old.deviceId)}`, { asUser: userId, body: {} })
      .catch((err) => this.opts.log.warn({ err, user: userId }, "could not delete the retired device"));
    return fresh.deviceId;
  }

  private async setUpDevice(userId: string, replacing?: CryptoDeviceRow): Promise<CryptoDeviceRow> {
    let row = await this.devices.get(userId);
    if (!row || replacing) {
      const deviceId = newDeviceId();
      await this.devices.put(userId, deviceId, storeNameFor(userId, deviceId));
      row = (await this.devices.get(userId))!;
    }
    if (row.ed25519Key === null || !row.crossSigned) {
      // PUT /devices/{id} creates the device or renames an existing one; repeating it is harmless.
      await this.opts.client.as(userId).ensureDevice(row.deviceId, this.opts.deviceDisplayName);
    }
    const current = row;
    const outcome = await this.pool.use(ownerOf(current), async (machine) => {
      const key = machine.identityKeys.ed25519.toBase64();
      if (current.ed25519Key !== null && current.ed25519Key !== key) return "store-lost" as const;
      if (current.ed25519Key === null) await this.devices.setIdentityKey(userId, key);
      const http = this.http(current);
      await flushOutgoingRequests(machine, http, this.opts.log);
      if (!current.crossSigned) {
        await this.crossSign(machine, http);
        await this.devices.setCrossSigned(userId);
      }
      return "ok" as const;
    });
    if (outcome === "store-lost") {
      // The keys of this device are gone (the crypto store was deleted or restored from another backup than the
      // database). Reusing the device ID with new keys would look like an attack to other users' clients: retire it.
      this.opts.log.error({ user: redactDigits(userId), device: current.deviceId }, "the crypto store of this device was lost; replacing the device with a new one");
      await this.opts.client
        .request("DELETE", `/_matrix/client/v3/devices/${encodeURIComponent(current.deviceId)}`, { asUser: userId, body: {} })
        .catch((err) => this.opts.log.warn({ err, user: redactDigits(userId) }, "could not delete the device whose keys were lost"));
      if (replacing) throw new Error(`the crypto store for ${userId} keeps losing its keys`);
      return this.setUpDevice(userId, current);
    }
    const done = (await this.devices.get(userId))!;
    this.opts.log.debug({ user: userId, device: done.deviceId }, "Matrix device ready (keys uploaded, cross-signed)");
    return done;
  }

  /** Creates (or re-uploads after a crash) the user's cross-signing keys and signs the device with them. */
  private async crossSign(machine: OlmMachine, http: DeviceHttp): Promise<void> {
    const status = await machine.crossSigningStatus();
    // Keys from an attempt that crashed half-way are uploaded again as they are; otherwise a new identity is made.
    const reset = !(status.hasMaster && status.hasSelfSigning && status.hasUserSigning);
    const requests = await machine.bootstrapCrossSigning(reset);
    const upload = requests.uploadKeysRequest as { id?: string; type?: RequestType; body?: string } | undefined;
    if (upload?.body && upload.id !== undefined && upload.type !== undefined) {
      const res = await http.request("POST", "/_matrix/client/v3/keys/upload", JSON.parse(upload.body));
      await machine.markRequestAsSent(upload.id, upload.type, JSON.stringify(res));
    }
    // Synapse lets an appservice replace its users' cross-signing keys without user-interactive auth (MSC4190), and
    // the first upload never needs it (MSC3967).
    await http.request("POST", "/_matrix/client/v3/keys/device_signing/upload", JSON.parse(requests.uploadSigningKeysRequest.body));
    const signatures = requests.uploadSignaturesRequest;
    const res = await http.request("POST", "/_matrix/client/v3/keys/signatures/upload", JSON.parse(signatures.body));
    if (signatures.id !== undefined) await machine.markRequestAsSent(signatures.id, signatures.type, JSON.stringify(res));
    await flushOutgoingRequests(machine, http, this.opts.log);
  }

  private async onMachineOpen(machine: OlmMachine, owner: MachineOwner): Promise<void> {
    machine.registerRoomKeyUpdatedCallback(async (infos: RoomKeyInfo[]) => {
      await this.reportRoomKeys(infos.map((i) => ({ roomId: i.roomId.toString(), sessionId: i.sessionId })));
    });
    machine.registerRoomKeysWithheldCallback(async (infos: RoomKeyWithheldInfo[]) => {
      await this.reportRoomKeys(infos.map((i) => ({ roomId: i.roomId.toString(), sessionId: i.sessionId })));
    });
    // Device-list changes are fed only to open machines; one that was closed may have missed some.
    await machine.markAllTrackedUsersAsDirty();
    const users = await machine.trackedUsers();
    this.tracked.set(owner.userId, new Set([...users].map((u) => u.toString())));
    this.opts.log.trace({ user: owner.userId }, "crypto machine callbacks registered");
  }

  private async reportRoomKeys(keys: { roomId: string; sessionId: string }[]): Promise<void> {
    const byRoom = new Map<string, string[]>();
    for (const k of keys) byRoom.set(k.roomId, [...(byRoom.get(k.roomId) ?? []), k.sessionId]);
    for (const [roomId, sessions] of byRoom) {
      try {
        await this.opts.onRoomKeys?.(roomId, sessions);
      } catch (err) {
        this.opts.log.error({ err, room: roomId }, "handling arrived room keys failed");
      }
    }
  }

  // ------------------------------------------------------------------------------------------------ transactions

  /** A to-device message for one of our devices (room keys, Olm session set-up). */
  async receiveToDevice(ev: ToDeviceEvent): Promise<void> {
    const row = await this.devices.byDevice(ev.to_user_id, ev.to_device_id);
    if (!row) {
      this.opts.log.debug({ user: ev.to_user_id, device: ev.to_device_id, type: ev.type }, "to-device message for a device the bridge does not have; ignored");
      return;
    }
    const { to_user_id: _u, to_device_id: _d, ...event } = ev;
    await observed(this.opts.observer, "olm_to_device", () => this.pool.use(ownerOf(row), async (machine) => {
      // The MSC4186 variant: a missing one-time-key count means "unchanged", which is what a lone to-device item says.
      const processed = await machine.receiveSyncChangesMsc4186(JSON.stringify([event]), new DeviceLists(), new Map(), undefined, untrusted());
      for (const p of processed) {
        if ("utdInfo" in p) this.opts.log.warn({ user: redactDigits(row.userId), sender: redactDigits(ev.sender), type: ev.type }, "a to-device message for the bridge could not be decrypted");
      }
      await flushOutgoingRequests(machine, this.http(row), this.opts.log);
    }));
  }

  /**
   * Fetches to-device messages the homeserver holds for the user's device but never pushed. Synapse does not put
   * to-device messages into the transactions it resends after the bridge was unreachable (they are only in the
   * device's inbox), so room keys sent while the bridge was down would be lost without this. Reads the inbox with
   * /sync as the device (rooms filtered out), acknowledging as it goes. Returns how many messages it fed.
   */
  async catchUpToDevice(userId: string): Promise<number> {
    const row = await this.readyDevice(userId);
    let fed = 0;
    return this.pool.use(ownerOf(row), async (machine) => {
      for (let round = 0; round < 50; round++) {
        const since = await this.devices.toDeviceSince(row.userId, row.deviceId);
        const res = (await this.opts.client.request("GET", "/_matrix/client/v3/sync", {
          asUser: row.userId,
          asDevice: row.deviceId,
          query: { filter: TO_DEVICE_ONLY_FILTER, timeout: 0, set_presence: "offline", ...(since ? { since } : {}) },
        })) as { next_batch?: unknown; to_device?: { events?: unknown[] }; device_lists?: { changed?: string[]; left?: string[] } };
        const events = Array.isArray(res.to_device?.events) ? res.to_device.events : [];
        if (events.length > 0) {
          const lists = new DeviceLists((res.device_lists?.changed ?? []).map((u) => new UserId(u)), (res.device_lists?.left ?? []).map((u) => new UserId(u)));
          await machine.receiveSyncChangesMsc4186(JSON.stringify(events), lists, new Map(), undefined, untrusted());
          fed += events.length;
        }
        if (typeof res.next_batch === "string") {
          await this.devices.setToDeviceSince(row.userId, row.deviceId, res.next_batch);
        }
        if (events.length === 0) break;
      }
      if (fed > 0) {
        await flushOutgoingRequests(machine, this.http(row), this.opts.log);
        this.opts.log.info({ user: redactDigits(row.userId), messages: fed }, "fetched to-device messages the homeserver had not pushed");
      }
      return fed;
    });
  }

  /**
   * Users whose devices changed, or who no longer share a room with us. Fed to the open machines; closed ones catch
   * up when they are opened again (all their tracked users are then queried afresh).
   */
  async receiveDeviceLists(lists: { changed: string[]; left: string[] }): Promise<void> {
    if (lists.changed.length === 0 && lists.left.length === 0) return;
    const named = new Set([...lists.changed, ...lists.left]);
    const follows = (owner: MachineOwner) => {
      const users = this.tracked.get(owner.userId);
      if (!users) return true; // not known (yet): feeding it is always right
      for (const u of users) if (named.has(u)) return true;
      return false;
    };
    await Promise.all(
      this.pool.openOwners().filter(follows).map((owner) =>
        this.pool.use(owner, async (machine) => {
          const changes = new DeviceLists(lists.changed.map((u) => new UserId(u)), lists.left.map((u) => new UserId(u)));
          await machine.receiveSyncChangesMsc4186("[]", changes, new Map());
        }),
      ),
    );
  }

  /** One-time-key counts and unused fallback keys of our devices: uploads more keys where they run low. */
  async receiveKeyCounts(otk: OneTimeKeyCounts, fallback: UnusedFallbackKeyTypes): Promise<void> {
    const targets = new Set<string>();
    for (const [userId, devices] of Object.entries(otk)) for (const deviceId of Object.keys(devices)) targets.add(`${userId}\u0000${deviceId}`);
    for (const [userId, devices] of Object.entries(fallback)) for (const deviceId of Object.keys(devices)) targets.add(`${userId}\u0000${deviceId}`);
    for (const target of targets) {
      const [userId, deviceId] = target.split("\u0000") as [string, string];
      const row = await this.devices.byDevice(userId, deviceId);
      if (!row) continue;
      const counts = otk[userId]?.[deviceId];
      const unusedFallback = fallback[userId]?.[deviceId];
      const fingerprint = JSON.stringify([counts ?? null, unusedFallback ?? null]);
      if (this.lastCounts.get(target) === fingerprint) continue;
      await this.pool.use(ownerOf(row), async (machine) => {
        const fallbackSet = unusedFallback ? new Set(unusedFallback) : undefined;
        if (counts) await machine.receiveSyncChanges("[]", new DeviceLists(), new Map(Object.entries(counts)), fallbackSet);
        else await machine.receiveSyncChangesMsc4186("[]", new DeviceLists(), new Map(), fallbackSet);
        await flushOutgoingRequests(machine, this.http(row), this.opts.log);
      });
      this.lastCounts.set(target, fingerprint);
    }
  }

  // ------------------------------------------------------------------------------------------------ rooms

  /** Remembers what a passing room event changes (members, encryption, history visibility). */
  observeRoomEvent(ev: { type: string; room_id: string; state_key?: string | undefined }): void {
    this.rooms.observe(ev);
  }

  /** Whether events sent into the room must be encrypted; `asUser` is a member that can read its state. */
  async isEncrypted(roomId: string, asUser: string): Promise<boolean> {
    if (this.rooms.knownEncrypted(roomId)) return true;
    return (await this.rooms.get(roomId, asUser)).encryption !== null;
  }

  /** Decrypts an `m.room.encrypted` event with the device of `asUser`, a bridge user in the room. */
  async decrypt<E extends EncryptedRoomEvent>(asUser: string, ev: E): Promise<DecryptOutcome<E>> {
    const sessionId = typeof ev.content.session_id === "string" ? ev.content.session_id : "";
    if (ev.content.algorithm !== MEGOLM) return { kind: "failed", reason: `unsupported encryption algorithm ${String(ev.content.algorithm)}` };
    const row = await this.readyDevice(asUser);
    return observed(this.opts.observer, "megolm_decrypt", () => this.pool.use(ownerOf(row), async (machine) => {
      try {
        const decrypted = await machine.decryptRoomEvent(JSON.stringify(ev), new RoomId(ev.room_id), untrusted());
        const clear = JSON.parse(decrypted.event) as { type?: unknown; content?: unknown };
        if (typeof clear.type !== "string" || typeof clear.content !== "object" || clear.content === null) {
          return { kind: "failed" as const, reason: "the decrypted event has no type or content" };
        }
        const content = { ...(clear.content as Record<string, unknown>) };
        // Relations travel outside the ciphertext, so the server can aggregate them.
        if (ev.content["m.relates_to"] !== undefined && content["m.relates_to"] === undefined) content["m.relates_to"] = ev.content["m.relates_to"];
        return { kind: "decrypted" as const, event: { ...ev, type: clear.type, content }, senderDevice: decrypted.senderDevice?.toString() };
      } catch (err) {
        if (!(err instanceof MegolmDecryptionError)) throw err;
        if (err.withheldCode) return { kind: "withheld" as const, sessionId, code: err.withheldCode, reason: err.maybe_withheld ?? err.withheldCode };
        if (err.code === DecryptionErrorCode.MissingRoomKey || err.code === DecryptionErrorCode.UnknownMessageIndex) return { kind: "missing_key" as const, sessionId };
        return { kind: "failed" as const, reason: err.description };
      }
    }), (outcome) => outcome.kind);
  }

  /**
   * Encrypts an event for a room as `asUser`'s device: tracks the members, fetches their device keys, sets up Olm
   * sessions where missing and shares the room key before encrypting (encrypting without a shared, current session
   * panics inside the engine and kills it). Returns the `m.room.encrypted` content.
   */
  async encrypt(asUser: string, roomId: string, type: string, content: Record<string, unknown>): Promise<Record<string, unknown>> {
    const row = await this.readyDevice(asUser);
    const state = await this.rooms.get(roomId, asUser);
    if (!state.encryption) throw new Error(`room ${roomId} is not encrypted`);
    if (state.encryption.algorithm !== MEGOLM) {
      throw new Error(`room ${roomId} uses the encryption algorithm "${state.encryption.algorithm}", which the bridge does not support; not sending`);
    }
    const recipients = state.recipients.includes(asUser) ? state.recipients : [...state.recipients, asUser];
    const users = () => recipients.map((u) => new UserId(u));
    return observed(this.opts.observer, "megolm_encrypt", () => this.pool.use(ownerOf(row), async (machine) => {
      const http = this.http(row);
      const room = new RoomId(roomId);
      await machine.updateTrackedUsers(users());
      const followed = this.tracked.get(row.userId) ?? new Set<string>();
      for (const u of recipients) followed.add(u);
      this.tracked.set(row.userId, followed);
      await flushOutgoingRequests(machine, http, this.opts.log); // key queries for new or changed users
      const claim = await machine.getMissingSessions(users());
      if (claim) {
        const res = await http.request("POST", "/_matrix/client/v3/keys/claim", JSON.parse(claim.body));
        await machine.markRequestAsSent(claim.id, claim.type, JSON.stringify(res));
      }
      for (const request of await machine.shareRoomKey(room, users(), encryptionSettings(state, this.sharing))) {
        const res = await sendToDevice(http, request);
        await machine.markRequestAsSent(request.id, request.type, JSON.stringify(res ?? {}));
      }
      const encrypted = await machine.encryptRoomEvent(room, type, JSON.stringify(content));
      const excluded = this.sharing === "cross_signed" ? await unsignedDevices(machine, recipients) : [];
      return { content: JSON.parse(encrypted) as Record<string, unknown>, excluded };
    })).then(async ({ content: sealed, excluded }) => {
      // Outside the machine's lock: telling the user sends (and encrypts) a notice with the same device.
      if (excluded.length > 0) await this.opts.onDevicesExcluded?.(asUser, roomId, excluded);
      return sealed;
    });
  }

  private get sharing(): KeySharing {
    return this.opts.shareKeysWith ?? "all";
  }

  /** Forgets the room's cached members and settings (the bridge itself just changed them). */
  forgetRoom(roomId: string): void {
    this.rooms.forget(roomId);
  }

  private async readyDevice(userId: string): Promise<CryptoDeviceRow> {
    await this.ensureDevice(userId);
    return (await this.devices.get(userId))!;
  }

  private http(row: CryptoDeviceRow): DeviceHttp {
    return deviceHttp(this.opts.client, row.userId, row.deviceId);
  }
}

function ownerOf(row: CryptoDeviceRow): MachineOwner {
  return { userId: row.userId, deviceId: row.deviceId, storeName: row.storeName };
}

function untrusted(): DecryptionSettings {
  // Messages from the Matrix user's unverified devices are still theirs to send: the bridge cannot verify them.
  return new DecryptionSettings(TrustRequirement.Untrusted);
}

/**
 * The devices of these users that the identity-based strategy leaves out: not cross-signed by their owner (which
 * includes every device of a user who has no cross-signing identity). Deleted devices are gone, not excluded.
 */
async function unsignedDevices(machine: OlmMachine, userIds: readonly string[]): Promise<ExcludedDevice[]> {
  const out: ExcludedDevice[] = [];
  for (const userId of userIds) {
    const devices = await machine.getUserDevices(new UserId(userId));
    for (const device of devices.devices()) {
      if (device.isDeleted() || device.isCrossSignedByOwner()) continue;
      out.push({ userId, deviceId: device.deviceId.toString(), displayName: device.displayName });
    }
  }
  return out;
}

function encryptionSettings(state: RoomCryptoState, sharing: KeySharing): EncryptionSettings {
  const s = new EncryptionSettings();
  s.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
  s.rotationPeriod = BigInt(Math.round(state.encryption!.rotationPeriodMs)) * 1000n; // microseconds
  s.rotationPeriodMessages = BigInt(Math.round(state.encryption!.rotationPeriodMessages));
  s.historyVisibility = {
    invited: HistoryVisibility.Invited,
    joined: HistoryVisibility.Joined,
    shared: HistoryVisibility.Shared,
    world_readable: HistoryVisibility.WorldReadable,
  }[state.historyVisibility];
  // Users' devices are unverified from the bridge's point of view, so by default all get the keys. cross_signed asks
  // the library to share only with devices their owner signed (it sends the others m.room_key.withheld).
  s.sharingStrategy = sharing === "cross_signed" ? CollectStrategy.identityBasedStrategy() : CollectStrategy.allDevices();
  return s;
}

/** Device IDs the bridge creates: recognisable in device lists, random so a replaced device never reuses one. */
export function newDeviceId(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = randomBytes(10);
  return `DMA${[...bytes].map((b) => alphabet[b % alphabet.length]).join("")}`;
}

/** Store names are short and file-name safe whatever the user ID; the device table maps users to them. */
export function storeNameFor(userId: string, deviceId: string): string {
  return `d-${createHash("sha256").update(userId).digest("hex").slice(0, 24)}-${deviceId}`;
}

/** Where the crypto stores and their key live, next to the bridge database. */
export function cryptoPaths(databasePath: string): { storeDir: string; keyPath: string } {
  const dir = databasePath === ":memory:" ? "." : join(databasePath, "..");
  return { storeDir: join(dir, "matrix-crypto"), keyPath: join(dir, "matrix-crypto.key") };
}

