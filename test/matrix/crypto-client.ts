// A real E2EE Matrix user for tests: matrix-js-sdk with its Rust crypto (in memory) against the harness Synapse.
// It records every timeline event after decryption, with which device sent it and whether its owner cross-signed it.
import { ClientEvent, createClient, MatrixEvent, MatrixEventEvent, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { SynapseHandle } from "../harness/synapse.js";

if (process.env["MDB_TEST_LOG"] !== "debug") {
  // The SDK's global logger ignores setLevel for loggers it already derived; replacing the factory reaches them.
  type Factory = (method: string, level: unknown, name: unknown) => (...args: unknown[]) => void;
  const l = sdkLogger as unknown as { methodFactory: Factory; rebuild(): void };
  const original = l.methodFactory;
  l.methodFactory = (method, level, name) => (method === "error" ? original(method, level, name) : () => {});
  l.rebuild();
}

export interface SeenEncryptedEvent {
  roomId: string;
  eventId: string;
  sender: string;
  /** The type after decryption (m.room.encrypted if it could not be decrypted). */
  type: string;
  content: Record<string, unknown>;
  encrypted: boolean;
  /** Decryption failed: the SDK's reason. */
  decryptionFailure?: string;
  /** The sending device's curve25519 key, as claimed by the Megolm session. */
  senderKey?: string;
}

export interface SenderDevice {
  deviceId: string;
  signedByOwner: boolean;
  crossSigningVerified: boolean;
}

export class CryptoTestUser {
  readonly events: SeenEncryptedEvent[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly client: MatrixClient,
    readonly userId: string,
    /** For logging in a second device. */
    readonly password: string,
  ) {}

  static async create(synapse: SynapseHandle, localpart: string): Promise<CryptoTestUser> {
    const reg = await synapse.registerUser(localpart);
    const client = createClient({ baseUrl: synapse.url, userId: reg.userId, accessToken: reg.accessToken, deviceId: reg.deviceId });
    await client.initRustCrypto({ useIndexedDB: false });
    const user = new CryptoTestUser(client, reg.userId, reg.password);
    const record = (ev: MatrixEvent, roomId: string) => {
      const failure = ev.isDecryptionFailure() ? String(ev.decryptionFailureReason ?? "failed") : undefined;
      const seen: SeenEncryptedEvent = {
        roomId,
        eventId: ev.getId()!,
        sender: ev.getSender()!,
        type: ev.getType(),
        content: ev.getContent(),
        encrypted: ev.isEncrypted(),
        ...(failure ? { decryptionFailure: failure } : {}),
        ...(ev.getSenderKey() ? { senderKey: ev.getSenderKey()! } : {}),
      };
      const i = user.events.findIndex((e) => e.eventId === seen.eventId);
      if (i >= 0) user.events[i] = seen;
      else user.events.push(seen);
      user.notify();
    };
    client.on(RoomEvent.Timeline, (ev: MatrixEvent, room) => {
      if (!room) return;
      const roomId = room.roomId;
      if (ev.isBeingDecrypted() || ev.shouldAttemptDecryption()) {
        ev.once(MatrixEventEvent.Decrypted, () => record(ev, roomId));
        record(ev, roomId);
        return;
      }
      record(ev, roomId);
    });
    // Late keys: the SDK retries decryption and emits Decrypted on the same event object.
    client.on(MatrixEventEvent.Decrypted, (ev: MatrixEvent) => {
      const roomId = ev.getRoomId();
      if (roomId && user.events.some((e) => e.eventId === ev.getId())) record(ev, roomId);
    });
    client.on(RoomMemberEvent.Membership, () => user.notify());
    client.on(ClientEvent.Room, () => setImmediate(() => user.notify()));
    const ready = new Promise<void>((resolve) => {
      client.on(ClientEvent.Sync, (state: SyncState) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) resolve();
      });
    });
    await client.startClient({ initialSyncLimit: 0 });
    await ready;
    return user;
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  async waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) {
        const recent = this.events.slice(-12).map((e) => [e.sender, e.type, e.content.body ?? e.content.membership ?? e.decryptionFailure]);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; recent events: ${JSON.stringify(recent)}`);
      }
      await new Promise<void>((resolve) => {
        const waiter = () => {
          this.waiters.delete(waiter);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(waiter, 250);
        this.waiters.add(waiter);
      });
    }
  }

  waitForEvent(what: string, predicate: (e: SeenEncryptedEvent) => boolean, timeoutMs?: number): Promise<SeenEncryptedEvent> {
    return this.waitFor(what, () => this.events.find(predicate), timeoutMs);
  }

  async acceptInviteFrom(inviter: string, timeoutMs?: number): Promise<string> {
    const roomId = await this.waitFor(`an invite from ${inviter}`, () => {
      for (const room of this.client.getRooms()) {
        if (room.getMyMembership() !== "invite") continue;
        if (room.getMember(this.userId)?.events.member?.getSender() === inviter) return room.roomId;
      }
      return undefined;
    }, timeoutMs);
    await this.client.joinRoom(roomId);
    return roomId;
  }

  /** Creates an encrypted DM with `invitee`. */
  async createEncryptedDm(invitee: string): Promise<string> {
    const { room_id } = await this.client.createRoom({
      is_direct: true,
      invite: [invitee],
      preset: "trusted_private_chat" as never,
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    return room_id;
  }

  /** Waits until the client knows `userId` as joined (or invited) and the room as encrypted, so keys reach them. */
  async waitForMember(roomId: string, userId: string, membership: "join" | "invite" = "join", timeoutMs?: number): Promise<void> {
    await this.waitFor(`${userId} to be ${membership} in ${roomId}`, async () => {
      const room = this.client.getRoom(roomId);
      if (room?.getMember(userId)?.membership !== membership) return undefined;
      return (await this.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)) ? true : undefined;
    }, timeoutMs);
  }

  async sendText(roomId: string, body: string): Promise<string> {
    const { event_id } = await this.client.sendEvent(roomId, "m.room.message" as never, { msgtype: "m.text", body } as never);
    return event_id;
  }

  messagesIn(roomId: string, sender?: string): SeenEncryptedEvent[] {
    return this.events.filter((e) => e.roomId === roomId && e.type === "m.room.message" && (sender === undefined || e.sender === sender));
  }

  /** The device of `sender` that sent the event (matched by its curve25519 key), and how its owner vouches for it. */
  async senderDevice(ev: SeenEncryptedEvent): Promise<SenderDevice | undefined> {
    const crypto = this.client.getCrypto()!;
    const devices = (await crypto.getUserDeviceInfo([ev.sender], true)).get(ev.sender);
    for (const device of devices?.values() ?? []) {
      if (device.getIdentityKey() !== ev.senderKey) continue;
      const status = await crypto.getDeviceVerificationStatus(ev.sender, device.deviceId);
      return { deviceId: device.deviceId, signedByOwner: status?.signedByOwner ?? false, crossSigningVerified: status?.crossSigningVerified ?? false };
    }
    return undefined;
  }

  /** The device IDs the client knows for a user (fresh from the server). */
  async deviceIds(userId: string): Promise<string[]> {
    const devices = (await this.client.getCrypto()!.getUserDeviceInfo([userId], true)).get(userId);
    return [...(devices?.keys() ?? [])].sort();
  }

  stop(): void {
    this.client.stopClient();
  }
}
