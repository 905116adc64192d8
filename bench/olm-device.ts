// The Matrix device of the benchmark's user on the fake homeserver, for encrypted portals: an OlmMachine (in
// memory) whose key uploads, queries, claims and to-device messages go straight into the fake homeserver's key
// directory, as a client's would go to its homeserver. It encrypts what the user sends and decrypts what puppets
// post. One operation at a time, like a client's crypto loop.
import {
  CollectStrategy,
  DecryptionErrorCode,
  DecryptionSettings,
  DeviceId,
  DeviceLists,
  EncryptionAlgorithm,
  EncryptionSettings,
  initAsync,
  KeysBackupRequest,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  MegolmDecryptionError,
  OlmMachine,
  RoomId,
  SignatureUploadRequest,
  ToDeviceRequest,
  TrustRequirement,
  UserId,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import type { ToDeviceEvent } from "../src/matrix/events.js";
import type { FakeKeyDirectory } from "./fake-key-directory.js";

type Json = Record<string, unknown>;

/** An encrypted event that waits for its room key (which travels by to-device, possibly behind the event). */
interface Waiting {
  event: Json;
  resolve: (clear: Json) => void;
  reject: (err: Error) => void;
}

export class LocalOlmDevice {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly waiting: Waiting[] = [];
  private readonly changedUsers = new Set<string>();
  private changesQueued: Promise<void> | undefined;

  private constructor(
    private readonly keys: FakeKeyDirectory,
    readonly userId: string,
    readonly deviceId: string,
    private readonly machine: OlmMachine,
  ) {}

  /** `open` makes the machine (default: one without a persistent store). */
  static async create(keys: FakeKeyDirectory, userId: string, deviceId: string, open?: () => Promise<OlmMachine>): Promise<LocalOlmDevice> {
    await initAsync();
    const machine = open ? await open() : await OlmMachine.initialize(new UserId(userId), new DeviceId(deviceId));
    const device = new LocalOlmDevice(keys, userId, deviceId, machine);
    keys.onLocalToDevice((ev) => {
      if (ev.to_user_id === userId && ev.to_device_id === deviceId) void device.receiveToDevice(ev);
    });
    // Its own uploads need no re-query; other users' changes do (a puppet's new device must get room keys).
    keys.onDeviceListChange((changed) => {
      const others = changed.filter((u) => u !== userId);
      if (others.length > 0) void device.devicesChanged(others);
    });
    await device.serial(() => device.flush()); // uploads the device keys and one-time keys
    return device;
  }

  /** Encrypts an event for the room's `members` (sharing the room key with their devices first when needed). */
  encrypt(roomId: string, members: string[], type: string, content: Json): Promise<Json> {
    return this.serial(async () => {
      const users = () => members.map((u) => new UserId(u));
      await this.machine.updateTrackedUsers(users());
      await this.flush();
      const claim = await this.machine.getMissingSessions(users());
      if (claim) await this.machine.markRequestAsSent(claim.id, claim.type, JSON.stringify(this.keys.claim(JSON.parse(claim.body) as Json)));
      const settings = new EncryptionSettings();
      settings.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
      settings.sharingStrategy = CollectStrategy.allDevices();
      for (const r of await this.machine.shareRoomKey(new RoomId(roomId), users(), settings)) {
        this.keys.sendToDevice(this.userId, r.event_type, r.txn_id, JSON.parse(r.body) as Json);
        await this.machine.markRequestAsSent(r.id, r.type, "{}");
      }
      return JSON.parse(await this.machine.encryptRoomEvent(new RoomId(roomId), type, JSON.stringify(content))) as Json;
    });
  }

  /** The clear event ({type, content}); waits for a room key that has not arrived yet. */
  decrypt(event: Json): Promise<Json> {
    return new Promise((resolve, reject) => {
      void this.serial(() => this.tryDecrypt({ event, resolve, reject }));
    });
  }

  close(): void {
    for (const w of this.waiting.splice(0)) w.reject(new Error("the device was closed"));
    this.machine.close();
  }

  private async tryDecrypt(w: Waiting): Promise<void> {
    try {
      const decrypted = await this.machine.decryptRoomEvent(JSON.stringify(w.event), new RoomId(String(w.event.room_id)), new DecryptionSettings(TrustRequirement.Untrusted));
      w.resolve(JSON.parse(decrypted.event) as Json);
    } catch (err) {
      if (err instanceof MegolmDecryptionError && (err.code === DecryptionErrorCode.MissingRoomKey || err.code === DecryptionErrorCode.UnknownMessageIndex)) {
        this.waiting.push(w);
        return;
      }
      w.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private receiveToDevice(ev: ToDeviceEvent): Promise<void> {
    const { to_user_id: _u, to_device_id: _d, ...event } = ev;
    return this.serial(async () => {
      await this.machine.receiveSyncChanges(JSON.stringify([event]), new DeviceLists(), new Map(), undefined);
      await this.flush();
      // A room key may have come: try the waiting events again.
      for (const w of this.waiting.splice(0)) await this.tryDecrypt(w);
    });
  }

  /**
   * Changes that come while the device is busy are handed over together, as one sync response would carry them: each
   * call costs the machine a store commit, and opening thousands of portals makes thousands of puppet devices.
   */
  private devicesChanged(userIds: string[]): Promise<void> {
    for (const u of userIds) this.changedUsers.add(u);
    this.changesQueued ??= this.serial(async () => {
      this.changesQueued = undefined;
      const users = [...this.changedUsers];
      this.changedUsers.clear();
      if (users.length === 0) return;
      await this.machine.receiveSyncChanges("[]", new DeviceLists(users.map((u) => new UserId(u)), []), new Map(), undefined);
      await this.flush();
    });
    return this.changesQueued;
  }

  /** Answers the machine's outgoing requests from the key directory until it has none left. */
  private async flush(): Promise<void> {
    for (let round = 0; round < 16; round++) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const r of requests) {
        let response: unknown;
        if (r instanceof KeysUploadRequest) response = { one_time_key_counts: this.keys.upload(this.userId, this.deviceId, JSON.parse(r.body) as Json) };
        else if (r instanceof KeysQueryRequest) response = this.keys.query(this.userId, JSON.parse(r.body) as Json);
        else if (r instanceof KeysClaimRequest) response = this.keys.claim(JSON.parse(r.body) as Json);
        else if (r instanceof SignatureUploadRequest) response = this.keys.uploadSignatures(JSON.parse(r.body) as Json);
        else if (r instanceof ToDeviceRequest) {
          this.keys.sendToDevice(this.userId, r.event_type, r.txn_id, JSON.parse(r.body) as Json);
          response = {};
        } else if (r instanceof KeysBackupRequest) throw new Error("the benchmark's device never enables key backup");
        else throw new Error(`unexpected crypto request ${(r as { constructor: { name: string } }).constructor.name}`);
        await this.machine.markRequestAsSent(r.id!, r.type, JSON.stringify(response));
      }
    }
    throw new Error("the benchmark's crypto device keeps producing requests");
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }
}
