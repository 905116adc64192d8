// A real Matrix user for end-to-end tests: matrix-js-sdk against the harness Synapse, optionally with its Rust crypto
// (in memory) as a real E2EE device. It records every timeline event (after decryption) and every read receipt.
import { ClientEvent, createClient, EventType, MatrixEvent, MatrixEventEvent, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { RegisterOptions, SynapseHandle } from "../harness/synapse.js";

// The SDK logs at debug by default; keep test output readable (MDB_TEST_LOG=debug shows it).
// (setLevel alone does not reach loggers the SDK already derived; replacing the method factory does.)
if (process.env["MDB_TEST_LOG"] !== "debug") {
  type Factory = (method: string, level: unknown, name: unknown) => (...args: unknown[]) => void;
  const l = sdkLogger as unknown as { methodFactory: Factory; rebuild(): void };
  const original = l.methodFactory;
  l.methodFactory = (method, level, name) => (method === "error" ? original(method, level, name) : () => {});
  l.rebuild();
}

export interface SeenEvent {
  roomId: string;
  eventId: string;
  sender: string;
  type: string;
  content: Record<string, unknown>;
  /** For redactions: the redacted event (top-level before room version 11, in content from 11). */
  redacts?: string;
  /** Whether it travelled encrypted (its type and content are the decrypted ones). */
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

export interface SeenReceipt {
  roomId: string;
  eventId: string;
  userId: string;
  type: string;
}

export class MatrixTestUser {
  readonly events: SeenEvent[] = [];
  /** Every read receipt the homeserver sent, as it came (clients hide receipts older than a user's own messages). */
  readonly receipts: SeenReceipt[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(
    readonly client: MatrixClient,
    readonly userId: string,
    /** For logging in a second device. */
    readonly password: string,
  ) {}

  /** `crypto: true` gives the user a real E2EE device (the SDK's Rust crypto, in memory): encrypted rooms work. */
  static async create(synapse: SynapseHandle, localpart: string, options?: RegisterOptions & { crypto?: boolean }): Promise<MatrixTestUser> {
    const { crypto, ...registerOptions } = options ?? {};
    const reg = await synapse.registerUser(localpart, registerOptions);
    return MatrixTestUser.connect(synapse.url, reg, crypto ?? false);
  }

  /** Another device of an existing user (a fresh login), with its own event log; its keys are not cross-signed. */
  static async login(synapse: SynapseHandle, userId: string, password: string, options: { crypto?: boolean; deviceName?: string } = {}): Promise<MatrixTestUser> {
    const res = await fetch(`${synapse.url}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password, initial_device_display_name: options.deviceName ?? "second test device" }),
    });
    if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    const { access_token, device_id } = (await res.json()) as { access_token: string; device_id: string };
    return MatrixTestUser.connect(synapse.url, { userId, accessToken: access_token, deviceId: device_id, password }, options.crypto ?? false);
  }

  private static async connect(baseUrl: string, reg: { userId: string; accessToken: string; deviceId: string; password: string }, crypto: boolean): Promise<MatrixTestUser> {
    const client = createClient({ baseUrl, userId: reg.userId, accessToken: reg.accessToken, deviceId: reg.deviceId });
    if (crypto) await client.initRustCrypto({ useIndexedDB: false });
    const user = new MatrixTestUser(client, reg.userId, reg.password);
    // An encrypted event is recorded when it arrives and replaced by its clear form once it is decrypted.
    const record = (ev: MatrixEvent, roomId: string) => {
      const redacts = (ev.event as { redacts?: string }).redacts ?? (ev.getContent() as { redacts?: string }).redacts;
      const failure = ev.isDecryptionFailure() ? String(ev.decryptionFailureReason ?? "failed") : undefined;
      const seen: SeenEvent = {
        roomId,
        eventId: ev.getId()!,
        sender: ev.getSender()!,
        type: ev.getType(),
        content: ev.getContent(),
        encrypted: ev.isEncrypted(),
        ...(redacts ? { redacts } : {}),
        ...(failure ? { decryptionFailure: failure } : {}),
        ...(ev.getSenderKey() ? { senderKey: ev.getSenderKey()! } : {}),
      };
      const i = user.events.findIndex((e) => e.eventId === seen.eventId);
      if (i >= 0) user.events[i] = seen;
      else user.events.push(seen);
      user.notify();
    };
    client.on(RoomEvent.Timeline, (ev: MatrixEvent, room) => {
      if (room) record(ev, room.roomId);
    });
    client.on(RoomEvent.Receipt, (ev: MatrixEvent, room) => {
      for (const [eventId, byType] of Object.entries(ev.getContent() as Record<string, Record<string, Record<string, unknown>>>)) {
        for (const [type, byUser] of Object.entries(byType)) {
          for (const userId of Object.keys(byUser)) user.receipts.push({ roomId: room.roomId, eventId, userId, type });
        }
      }
      user.notify();
    });
    client.on(MatrixEventEvent.Decrypted, (ev: MatrixEvent) => {
      const roomId = ev.getRoomId();
      if (roomId) record(ev, roomId);
    });
    client.on(RoomMemberEvent.Membership, () => user.notify());
    // A new room (an invite) enters the store after its membership event fired.
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

  /** Resolves with the first value `check` returns that is not undefined, re-checking on every change. */
  /** Resolves with the first value `check` gives that is not undefined, re-checking on every client event and every 250 ms. */
  async waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) {
        const recent = this.events.slice(-15).map((e) => [e.sender, e.type, e.content.body ?? e.content.membership ?? e.decryptionFailure]);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events seen: ${JSON.stringify(recent)}`);
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

  waitForEvent(what: string, predicate: (e: SeenEvent) => boolean, timeoutMs?: number): Promise<SeenEvent> {
    return this.waitFor(what, () => this.events.find(predicate), timeoutMs);
  }

  /** Waits for an invite from `inviter` and joins the room. */
  async acceptInviteFrom(inviter: string, timeoutMs?: number): Promise<string> {
    const roomId = await this.waitFor(`an invite from ${inviter}`, () => {
      for (const room of this.client.getRooms()) {
        if (room.getMyMembership() !== "invite") continue;
        const me = room.getMember(this.userId);
        if (me?.events.member?.getSender() === inviter) return room.roomId;
      }
      return undefined;
    }, timeoutMs);
    await this.client.joinRoom(roomId);
    return roomId;
  }

  async createDm(invitee: string, options: { encrypted?: boolean } = {}): Promise<string> {
    const { room_id } = await this.client.createRoom({
      is_direct: true,
      invite: [invitee],
      preset: "trusted_private_chat" as never,
      ...(options.encrypted ? { initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] } : {}),
    });
    return room_id;
  }

  async sendText(roomId: string, body: string): Promise<string> {
    return this.send(roomId, "m.room.message", { msgtype: "m.text", body });
  }

  async send(roomId: string, type: string, content: Record<string, unknown>): Promise<string> {
    const { event_id } = await this.client.sendEvent(roomId, type as EventType.RoomMessage, content as never);
    return event_id;
  }

  messagesIn(roomId: string, sender?: string): SeenEvent[] {
    return this.events.filter((e) => e.roomId === roomId && e.type === "m.room.message" && (sender === undefined || e.sender === sender));
  }

  /** Creates an encrypted DM with `invitee`. */
  createEncryptedDm(invitee: string): Promise<string> {
    return this.createDm(invitee, { encrypted: true });
  }

  /** Waits until the client knows `userId` as joined (or invited) and the room as encrypted, so keys reach them. */
  async waitForMember(roomId: string, userId: string, membership: "join" | "invite" = "join", timeoutMs?: number): Promise<void> {
    await this.waitFor(`${userId} to be ${membership} in ${roomId}`, async () => {
      const room = this.client.getRoom(roomId);
      if (room?.getMember(userId)?.membership !== membership) return undefined;
      return (await this.client.getCrypto()!.isEncryptionEnabledInRoom(roomId)) ? true : undefined;
    }, timeoutMs);
  }

  /** The device of `sender` that sent the event (matched by its curve25519 key), and how its owner vouches for it. */
  async senderDevice(ev: SeenEvent): Promise<SenderDevice | undefined> {
    const crypto = this.client.getCrypto()!;
    const devices = (await crypto.getUserDeviceInfo([ev.sender], true)).get(ev.sender);
    for (const device of devices?.values() ?? []) {
      if (device.getIdentityKey() !== ev.senderKey) continue;
      const status = await crypto.getDeviceVerificationStatus(ev.sender, device.deviceId);
      return { deviceId: device.deviceId, signedByOwner: status?.signedByOwner ?? false, crossSigningVerified: status?.crossSigningVerified ?? false };
    }
    return undefined;
  }

  /**
   * Sets up cross-signing for the user (keys uploaded with the password) and signs this device with it; devices
   * logged in later stay unsigned until verified.
   */
  async bootstrapCrossSigning(): Promise<void> {
    await this.client.getCrypto()!.bootstrapCrossSigning({
      authUploadDeviceSigningKeys: async (makeRequest) => {
        await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: this.userId }, password: this.password } as never);
      },
    });
  }

  get deviceId(): string {
    return this.client.getDeviceId()!;
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
