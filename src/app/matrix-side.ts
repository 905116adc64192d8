// MatrixSide over the client-server API: puppets and the bot act through appservice intents.
import { redactDigits } from "../log.js";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/schema.js";
import { botUserId, puppetDisplayName, puppetUserId } from "../config/identities.js";
import type { MatrixClient } from "../matrix/client.js";
import type { MatrixContent, MatrixSide, RemoteAvatar, StateEvent } from "../core/ports.js";
import type { MatrixEvent } from "../core/events.js";
import type { MatrixIntent } from "../matrix/intent.js";
import type { PuppetRow } from "../store/puppets.js";
import type { BridgeStore } from "../store/store.js";
import type { SendEncryption } from "./matrix-crypto.js";

/** How far back a new portal looks for what was said before its puppet joined: 4 pages of 50 events. */
const EARLY_PAGES = 4;
/** How far back a catch-up after a homeserver outage reads at most: 50 pages of 100 events. */
const RECENT_PAGES = 50;

export class AppserviceMatrixSide implements MatrixSide {
  readonly botUserId: string;
  readonly domain: string;
  /** Matrix E2EE for the bot and the puppets; absent when the config does not allow encryption. */
  private crypto: SendEncryption | undefined;

  constructor(
    private readonly config: BridgeConfig,
    private readonly client: MatrixClient,
    private readonly store: BridgeStore,
    private readonly log: Logger,
  ) {
    this.domain = config.homeserver.domain;
    this.botUserId = botUserId(config);
  }

  /** From now on the bot and puppets have devices, and events into encrypted rooms are encrypted. */
  useEncryption(crypto: SendEncryption): void {
    this.crypto = crypto;
  }

  /** Registers the bot and keeps its display name as configured. */
  async ensureBot(): Promise<void> {
    const bot = this.client.as(this.botUserId);
    await bot.ensureRegistered();
    await this.crypto?.ensureDevice(this.botUserId);
    const profile = await bot.getProfile(this.botUserId).catch(() => null);
    if (profile?.displayName !== this.config.appservice.bot_displayname) {
      await bot.setDisplayName(this.config.appservice.bot_displayname);
    }
  }

  /** Only the puppet's account, for the homeserver's user query: the rest waits until a chat needs the puppet. */
  async registerPuppet(e164: string, row?: PuppetRow): Promise<string> {
    const userId = puppetUserId(this.config, e164);
    const known = row ?? (await this.store.puppets.get(e164));
    if (known?.registered) return userId;
    await this.client.as(userId).ensureRegistered();
    await this.store.puppets.upsert({ e164, userId, displayName: known?.displayName ?? null, avatarMxc: known?.avatarMxc ?? null, avatarRemoteId: known?.avatarRemoteId ?? null, registered: true });
    return userId;
  }

  async ensurePuppet(e164: string, profile: { name?: string | undefined; avatar?: RemoteAvatar | undefined }): Promise<string> {
    const known = await this.store.puppets.get(e164);
    const userId = await this.registerPuppet(e164, known);
    const intent = this.client.as(userId);
    // Before the puppet joins any room, so clients find its device when they share room keys. Not only for encrypted
    // rooms: a user who turns encryption on in a plain portal and writes at once encrypts for the devices that exist
    // then, and a device made on the encryption event would come too late for that message (it could not be read).
    await this.crypto?.ensureDevice(userId);
    // Only a name from the directory replaces one we have; until we learn one, the number is the name.
    const wanted =
      profile.name !== undefined
        ? puppetDisplayName(this.config, e164, profile.name)
        : (known?.displayName ?? puppetDisplayName(this.config, e164, null));
    if (wanted !== known?.displayName) {
      await intent.setDisplayName(wanted);
      this.log.debug({ puppet: userId }, "puppet display name set");
    }
    const avatar = await this.syncAvatar(intent, userId, known, profile.avatar);
    // Called for every message from the contact: the row is written only when something in it changed.
    const unchanged = known?.registered === true && known.userId === userId && known.displayName === wanted && known.avatarMxc === avatar.avatarMxc && (known.avatarRemoteId ?? null) === avatar.avatarRemoteId;
    if (!unchanged) await this.store.puppets.upsert({ e164, userId, displayName: wanted, ...avatar, registered: true });
    return userId;
  }

  /** Copies the contact's picture to the puppet when it changed; a failure keeps the old one (and is retried later). */
  private async syncAvatar(
    intent: MatrixIntent,
    userId: string,
    known: PuppetRow | undefined,
    avatar: RemoteAvatar | undefined,
  ): Promise<{ avatarMxc: string | null; avatarRemoteId: string | null }> {
    const current = { avatarMxc: known?.avatarMxc ?? null, avatarRemoteId: known?.avatarRemoteId ?? null };
    if (!avatar || avatar.id === current.avatarRemoteId) return current;
    try {
      const { data, contentType } = await avatar.fetch();
      const mxc = await intent.uploadContent(data, contentType, "avatar", data.byteLength);
      await intent.setAvatarUrl(mxc);
      this.log.debug({ puppet: userId }, "puppet avatar set");
      return { avatarMxc: mxc, avatarRemoteId: avatar.id };
    } catch (err) {
      this.log.warn({ err, puppet: redactDigits(userId) }, "could not copy the contact's picture; keeping the old one");
      return current;
    }
  }

  async createPortalRoom(opts: { puppetUserId: string; inviteUserId: string; name: string; encrypted: boolean; initialState?: readonly StateEvent[] }): Promise<string> {
    const initialState: { type: string; state_key: string; content: MatrixContent }[] = (opts.initialState ?? []).map((s) => ({ type: s.type, state_key: s.stateKey, content: s.content }));
    if (opts.encrypted) initialState.push({ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } });
    // Before the room exists, so the invited user's client finds the puppet's device when it first shares a room key.
    if (opts.encrypted) await this.crypto?.ensureDevice(opts.puppetUserId);
    // No room name: clients name a DM after the other member, the puppet, whose display name follows the contact.
    return this.client.as(opts.puppetUserId).createRoom({
      preset: "trusted_private_chat",
      is_direct: true,
      invite: [opts.inviteUserId],
      initial_state: initialState,
      power_level_content_override: { users: { [opts.puppetUserId]: 100, [opts.inviteUserId]: 100 } },
    });
  }

  async createSpace(opts: { inviteUserId: string; name: string; topic: string }): Promise<string> {
    return this.client.as(this.botUserId).createRoom({
      preset: "private_chat",
      name: opts.name,
      topic: opts.topic,
      invite: [opts.inviteUserId],
      creation_content: { type: "m.space" },
      // Only the bot arranges the space; the user may rename it or change its picture.
      power_level_content_override: { users: { [this.botUserId]: 100, [opts.inviteUserId]: 50 }, events: { "m.space.child": 100 }, events_default: 100, state_default: 50 },
    });
  }

  async setState(asUser: string, roomId: string, state: StateEvent): Promise<void> {
    await this.client.as(asUser).sendStateEvent(roomId, state.type, state.stateKey, state.content);
  }

  async joinRoom(asUser: string, roomId: string, opts: { encrypted?: boolean } = {}): Promise<void> {
    if (opts.encrypted) await this.crypto?.ensureDevice(asUser);
    await this.client.as(asUser).join(roomId);
    this.crypto?.roomChanged(roomId);
    if (!opts.encrypted) {
      await this.crypto?.joined(asUser, roomId).catch((err) => this.log.warn({ err, room: roomId, user: asUser }, "could not check whether a joined room is encrypted"));
    }
  }

  async leaveRoom(asUser: string, roomId: string, reason?: string): Promise<void> {
    await this.client.as(asUser).leave(roomId, reason);
    this.crypto?.roomChanged(roomId);
  }

  async invite(asUser: string, roomId: string, userId: string): Promise<void> {
    await this.client.as(asUser).invite(roomId, userId);
    this.crypto?.roomChanged(roomId);
  }

  async eventsBeforeJoin(asUser: string, roomId: string): Promise<MatrixEvent[]> {
    const intent = this.client.as(asUser);
    const out: MatrixEvent[] = [];
    let from: string | undefined;
    for (let page = 0; page < EARLY_PAGES; page++) {
      const { chunk, end } = await intent.getRoomMessages(roomId, { dir: "f", limit: 50, ...(from ? { from } : {}) });
      for (const ev of chunk) {
        if (ev.type === "m.room.member" && ev.state_key === asUser && ev.content.membership === "join") return out;
        out.push(ev as MatrixEvent);
      }
      if (!end || chunk.length === 0) return out;
      from = end;
    }
    return out;
  }

  /**
   * The room's events since `sinceTs` (the homeserver's clock) and since `asUser` joined, oldest first, read back from
   * the newest. What came before the join was never the appservice's to receive (early messages are read apart).
   */
  async recentEvents(asUser: string, roomId: string, sinceTs: number): Promise<MatrixEvent[]> {
    const intent = this.client.as(asUser);
    const newestFirst: MatrixEvent[] = [];
    let from: string | undefined;
    for (let page = 0; page < RECENT_PAGES; page++) {
      const { chunk, end } = await intent.getRoomMessages(roomId, { dir: "b", limit: 100, ...(from ? { from } : {}) });
      for (const ev of chunk) {
        if (typeof ev.origin_server_ts === "number" && ev.origin_server_ts < sinceTs) return newestFirst.reverse();
        if (ev.type === "m.room.member" && ev.state_key === asUser && ev.content.membership === "join") return newestFirst.reverse();
        newestFirst.push({ ...ev, room_id: roomId } as MatrixEvent);
      }
      if (!end || chunk.length === 0) return newestFirst.reverse();
      from = end;
    }
    this.log.warn({ room: roomId, events: newestFirst.length }, "a room had more recent history than is read after a homeserver outage; reading only the newest");
    return newestFirst.reverse();
  }

  async sendEvent(asUser: string, roomId: string, type: string, content: MatrixContent, txnId: string): Promise<string> {
    // In an encrypted room the event goes out encrypted from the sender's own device; a retry with the same txnId
    // encrypts again, and the homeserver still keeps only the first.
    const sealed = await this.crypto?.seal(asUser, roomId, type, content);
    if (sealed) return this.client.as(asUser, sealed.deviceId).sendEvent(roomId, sealed.type, sealed.content, txnId);
    // Sent as a device, the transaction ID is kept in Synapse's database; without one only in its memory, so a retry
    // after a homeserver restart that swallowed the answer would post the message twice (the fault suite saw it).
    const deviceId = this.crypto ? await this.crypto.ensureDevice(asUser) : undefined;
    return this.client.as(asUser, deviceId).sendEvent(roomId, type, content, txnId);
  }

  roomState(asUser: string, roomId: string, type: string, stateKey = ""): Promise<MatrixContent | null> {
    return this.client.as(asUser).getStateEvent(roomId, type, stateKey);
  }

  sendState(asUser: string, roomId: string, type: string, stateKey: string, content: MatrixContent): Promise<string> {
    return this.client.as(asUser).sendStateEvent(roomId, type, stateKey, content);
  }

  async redact(asUser: string, roomId: string, eventId: string, txnId: string, reason?: string): Promise<void> {
    await this.client.as(asUser).redact(roomId, eventId, txnId, reason);
  }

  sendReadReceipt(asUser: string, roomId: string, eventId: string): Promise<void> {
    return this.client.as(asUser).sendReadReceipt(roomId, eventId);
  }

  setTyping(asUser: string, roomId: string, typing: boolean, timeoutMs: number): Promise<void> {
    return this.client.as(asUser).setTyping(roomId, typing, timeoutMs);
  }

  async joinedMembers(roomId: string): Promise<string[]> {
    return [...(await this.client.as(this.botUserId).getJoinedMembers(roomId)).keys()];
  }
}
