// The bridge core: portals, puppets, commands and the translation of events in both directions.
// It talks to Matrix and to the remote network only through the ports, and to the store for its own state.
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/schema.js";
import { isPuppetUserId, puppetUserId } from "../config/identities.js";
import { permissionFor } from "../config/permissions.js";
import { decodeContent, encodeContent } from "../protocol/content.js";
import { messageIdToString, newMessageId } from "../protocol/message-id.js";
import { formatPhoneInternational, matrixUri, normalisePhoneNumber, parseUri, telUri, validPhoneNumber } from "../protocol/uri.js";
import type { BridgeStore } from "../store/store.js";
import type { InboxEntry } from "../store/inbox.js";
import type { OutboxEntry } from "../store/outbox.js";
import { KeyedLock } from "../util/keyed-lock.js";
import { helpText, parseCommand } from "./commands.js";
import { MediaError, RemoteError, type MediaPort, type MatrixSide, type RemoteProfile, type RemoteFailureReason, type RemoteNetwork } from "./ports.js";
import { MEDIA_TYPES, messageToRemote, reactionRemovalToRemote, reactionToRemote, revokeToRemote, type OutgoingContext, type ToRemoteResult } from "./to-remote.js";
import { contentToMatrix, type ToMatrixResult } from "./to-matrix.js";
import { toMatrixText } from "./text-format.js";
import { splitForMatrix } from "./text-limits.js";
import { chatStateContent, ChatStateKind, receiptContent, ReceiptType } from "../protocol/content-builders.js";
import { ContentSchema, type Content } from "../protocol/gen/content_pb.js";
import { create } from "@bufbuild/protobuf";
import type { PortalRow } from "../store/portals.js";
import { redactPhone } from "../log.js";

/** A Matrix client event as it arrives in an appservice transaction. */
export interface MatrixEvent {
  type: string;
  room_id: string;
  sender: string;
  event_id: string;
  state_key?: string;
  content: Record<string, unknown>;
  origin_server_ts?: number;
  /** m.room.redaction before room version 11 (from v11 on it is content.redacts). */
  redacts?: string;
  /** For invites: `invite_room_state`, the stripped state of the room the invite is for. */
  unsigned?: Record<string, unknown>;
}

/** An ephemeral event from a transaction (m.typing, m.receipt); room_id is set by the homeserver. */
export interface MatrixEphemeralEvent {
  type: string;
  room_id?: string;
  content: Record<string, unknown>;
}

export class BridgeCore {
  private readonly chatLock = new KeyedLock();
  private readonly outageNoticeSent = new Set<string>();
  private readonly typingState = new Map<string, boolean>();

  constructor(
    private readonly config: BridgeConfig,
    private readonly store: BridgeStore,
    private readonly matrix: MatrixSide,
    private readonly remote: RemoteNetwork,
    private readonly log: Logger,
    private readonly media?: MediaPort,
  ) {}

  private get network(): string {
    return this.remote.networkName;
  }

  // ---------------------------------------------------------------- Matrix -> core

  async handleMatrixEvent(ev: MatrixEvent): Promise<void> {
    if (ev.sender === this.matrix.botUserId || isPuppetUserId(this.config, ev.sender) !== null) return; // our own echo
    if (ev.type === "m.room.member") return this.handleMembership(ev);
    const portal = this.store.portals.byRoom(ev.room_id);
    if (portal) {
      // Encryption turned on in an existing portal; the Matrix side encrypts from now on (it reads the room state).
      if (ev.type === "m.room.encryption" && ev.state_key === "" && !portal.encrypted) this.store.portals.upsert({ ...portal, encrypted: true });
      if (ev.sender !== portal.matrixUser) return; // someone else in a portal: not bridged (1:1 chats only)
      if (!this.allowed(ev.sender)) return this.refuseInPortal(portal, ev);
      if (ev.type === "m.room.message" || ev.type === "m.reaction" || ev.type === "m.room.redaction") return this.sendToRemote(portal, ev);
      if (ev.type === "m.room.encrypted") {
        // Encrypted events reach the core only when the bridge runs without Matrix encryption (config allow: false).
        await this.noticeAsPuppet(portal.remoteUri, ev.room_id, "⚠ This message was not delivered: this bridge is set up without Matrix encryption, so it cannot read encrypted messages.", `enc-${ev.event_id}`);
      }
      return;
    }
    const user = this.store.users.byManagementRoom(ev.room_id);
    if (user && ev.sender === user.userId && ev.type === "m.room.message") {
      const body = typeof ev.content.body === "string" ? ev.content.body : "";
      if (!this.allowed(ev.sender)) {
        if (parseCommand(body)) await this.notice(this.matrix.botUserId, ev.room_id, notAllowedText(this.network), `deny-${ev.event_id}`);
        return;
      }
      return this.runCommand(user.userId, ev.room_id, body, ev.event_id);
    }
  }

  /** Whether remote traffic for this Matrix user may be bridged at all; the runtime refuses envelopes for others. */
  acceptsRemoteFor(matrixUser: string): boolean {
    return this.allowed(matrixUser);
  }

  /** A user whose permission was removed writes in an old portal: nothing is bridged, and they are told why. */
  private async refuseInPortal(portal: PortalRow, ev: MatrixEvent): Promise<void> {
    if (ev.type !== "m.room.message" && ev.type !== "m.reaction" && ev.type !== "m.room.encrypted") return;
    this.log.warn({ user: ev.sender, room: ev.room_id }, "not bridging an event: the sender is no longer allowed to use the bridge");
    await this.noticeAsPuppet(portal.remoteUri, ev.room_id, `⚠ Not delivered: ${notAllowedText(this.network)}`, `deny-${ev.event_id}`);
  }

  private allowed(userId: string): boolean {
    return permissionFor(this.config, userId) !== null;
  }

  private async handleMembership(ev: MatrixEvent): Promise<void> {
    const membership = ev.content.membership;
    const target = ev.state_key ?? "";
    if (membership === "invite" && target === this.matrix.botUserId) return this.botInvited(ev);
    const digits = isPuppetUserId(this.config, target);
    if (membership === "invite" && digits !== null) return this.puppetInvited(ev, digits);
    if ((membership === "leave" || membership === "ban") && target === ev.sender) {
      const portal = this.store.portals.byRoom(ev.room_id);
      if (portal && portal.matrixUser === ev.sender) {
        this.store.portals.forgetRoom(ev.room_id);
        const e164 = this.e164Of(portal.remoteUri);
        await this.matrix.leaveRoom(puppetUserId(this.config, e164), ev.room_id).catch((e) => this.log.warn({ err: e }, "puppet could not leave"));
        this.log.info({ room: ev.room_id }, "user left a portal; it will be recreated on the next message");
        return;
      }
      const user = this.store.users.byManagementRoom(ev.room_id);
      if (user && user.userId === ev.sender) {
        this.store.users.setManagementRoom(user.userId, null);
        await this.matrix.leaveRoom(this.matrix.botUserId, ev.room_id).catch(() => undefined);
      }
    }
  }

  private async botInvited(ev: MatrixEvent): Promise<void> {
    if (!this.allowed(ev.sender)) return this.rejectInvite(this.matrix.botUserId, ev);
    await this.matrix.joinRoom(this.matrix.botUserId, ev.room_id);
    this.store.users.ensure(ev.sender, this.interopUriFor(ev.sender));
    this.store.users.setManagementRoom(ev.sender, ev.room_id);
    await this.notice(this.matrix.botUserId, ev.room_id, helpText(this.network), `help-${ev.event_id}`);
  }

  /**
   * Someone who may not use the bridge invited one of its users: the invite is declined with the reason, before
   * anything is registered, joined or looked up for them.
   */
  private async rejectInvite(asUser: string, ev: MatrixEvent): Promise<void> {
    this.log.info({ user: ev.sender, room: ev.room_id }, "declining an invite from a user who may not use the bridge");
    await this.matrix.leaveRoom(asUser, ev.room_id, notAllowedText(this.network)).catch((err) => this.log.warn({ err, room: ev.room_id }, "could not decline the invite"));
  }

  private async puppetInvited(ev: MatrixEvent, digits: string): Promise<void> {
    const e164 = validPhoneNumber(`+${digits}`);
    if (e164 === null) {
      // The homeserver's user query already refused this ID; an invite can only come from a forged or stale event.
      this.log.info({ room: ev.room_id }, "ignoring an invite to a puppet ID that is not a valid phone number");
      return;
    }
    const puppet = puppetUserId(this.config, e164);
    if (!this.allowed(ev.sender)) return this.rejectInvite(puppet, ev);
    await this.matrix.ensurePuppet(e164, {});
    await this.matrix.joinRoom(puppet, ev.room_id);
    await this.chatLock.run(this.chatKey(ev.sender, telUri(e164)), async () => {
      try {
        await this.remote.ensureIdentity(ev.sender);
        const profile = await this.remote.lookup(ev.sender, e164);
        await this.matrix.ensurePuppet(e164, { name: profile.name, avatar: profile.avatar });
      } catch (err) {
        await this.notice(puppet, ev.room_id, `⚠ ${this.explain(err, e164)}`, `lookup-${ev.event_id}`);
        await this.matrix.leaveRoom(puppet, ev.room_id, "cannot chat with this number");
        return;
      }
      this.store.users.ensure(ev.sender, this.interopUriFor(ev.sender));
      const previous = this.store.portals.get(ev.sender, telUri(e164));
      if (previous?.roomId && previous.roomId !== ev.room_id) {
        await this.matrix.leaveRoom(puppet, previous.roomId, "the chat moved to a new room").catch(() => undefined);
      }
      // A room created encrypted sent its m.room.encryption before this invite, when it was no portal yet.
      this.store.portals.upsert({ matrixUser: ev.sender, remoteUri: telUri(e164), roomId: ev.room_id, encrypted: inviteRoomEncrypted(ev) });
      this.log.info({ room: ev.room_id, remote: redactPhone(e164) }, "portal adopted from an invite");
    });
  }

  private outgoingContext(portal: PortalRow, roomId: string): OutgoingContext {
    return {
      remoteUri: portal.remoteUri,
      mapped: (eventId) => this.store.messages.byEventId(roomId, eventId),
      now: BigInt(Date.now()),
    };
  }

  private async sendToRemote(portal: PortalRow, ev: MatrixEvent): Promise<void> {
    const { matrixUser, remoteUri } = portal;
    // A redelivered event (Synapse retry, or our crash before the queue entry was cleared) is queued once only.
    const messageId = messageIdForEvent(ev.room_id, ev.event_id);
    if (this.store.outbox.hasMessage(matrixUser, remoteUri, messageId) || this.store.messages.byEventId(ev.room_id, ev.event_id)) return;
    const ctx = this.outgoingContext(portal, ev.room_id);
    let result: ToRemoteResult;
    let reactionChange: (() => void) | undefined;
    let isMessage = false;
    if (ev.type === "m.room.message" && this.media && MEDIA_TYPES.has(String(ev.content.msgtype))) {
      result = await this.mediaToRemote(portal, ev, ctx);
      isMessage = true;
    } else if (ev.type === "m.room.message") {
      result = messageToRemote(ev.content, ctx);
      const rel = ev.content["m.relates_to"] as { rel_type?: unknown } | undefined;
      isMessage = rel?.rel_type !== "m.replace";
    } else if (ev.type === "m.reaction") {
      result = reactionToRemote(ev.content, ctx);
      if (result.ok) {
        const rel = ev.content["m.relates_to"] as { event_id: string; key: string };
        const target = ctx.mapped(rel.event_id)!;
        const row = { matrixUser, remoteUri, targetMessageId: target.messageId, reactor: matrixUri(matrixUser), emoji: rel.key, roomId: ev.room_id, eventId: ev.event_id };
        reactionChange = () => this.store.reactions.put(row);
      }
    } else {
      const redacts = typeof ev.redacts === "string" ? ev.redacts : typeof ev.content.redacts === "string" ? ev.content.redacts : undefined;
      if (!redacts) return;
      const reaction = this.store.reactions.byEvent(ev.room_id, redacts);
      if (reaction && reaction.reactor !== this.interopUriFor(matrixUser)) {
        // The user removed the contact's reaction from the room: that hides it here, it is not theirs to take back.
        this.store.reactions.remove(matrixUser, remoteUri, reaction.targetMessageId, reaction.reactor);
        this.log.info({ room: ev.room_id }, "the user redacted the contact's reaction; nothing is sent");
        return;
      }
      if (reaction) {
        const target = this.store.messages.byMessageId(matrixUser, remoteUri, reaction.targetMessageId);
        result = { ok: true, content: reactionRemovalToRemote(reaction.targetMessageId, target?.direction ?? "in", ctx) };
        reactionChange = () => this.store.reactions.remove(matrixUser, remoteUri, reaction.targetMessageId, reaction.reactor);
      } else {
        const target = ctx.mapped(redacts);
        if (!target) return; // a redaction of something that never crossed the bridge (a notice, a state event)
        result = revokeToRemote(target, ctx);
      }
    }
    if (!result.ok) {
      await this.noticeAsPuppet(remoteUri, ev.room_id, `⚠ Not delivered: ${result.reason}.`, `unsup-${ev.event_id}`);
      return;
    }
    if (!(await this.identityReady(portal, ev.room_id, ev.event_id))) return;
    const content = encodeContent(result.content);
    this.store.transaction(() => {
      this.store.outbox.add({ matrixUser, remoteUri, messageId, roomId: ev.room_id, eventId: ev.event_id, content });
      reactionChange?.();
      if (isMessage) {
        this.store.messages.put({
          matrixUser,
          remoteUri,
          messageId,
          roomId: ev.room_id,
          eventId: ev.event_id,
          direction: "out",
          sender: this.interopUriFor(matrixUser),
          timestamp: ev.origin_server_ts ?? Date.now(),
        });
      }
    });
    this.remote.wake();
  }

  private async mediaToRemote(portal: PortalRow, ev: MatrixEvent, ctx: OutgoingContext): Promise<ToRemoteResult> {
    const relates = ev.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: unknown } } | undefined;
    const replyTo = relates?.["m.in_reply_to"]?.event_id;
    const target = typeof replyTo === "string" ? ctx.mapped(replyTo) : undefined;
    try {
      const message = await this.media!.toRemote(portal.matrixUser, ev.content, target ? { stanzaId: target.messageId, participant: target.sender } : undefined);
      return { ok: true, content: create(ContentSchema, { message }) };
    } catch (err) {
      if (err instanceof MediaError) return { ok: false, reason: err.userMessage };
      throw err;
    }
  }

  /** The Matrix user's interop identity must exist before anything is encrypted for them. */
  private async identityReady(portal: PortalRow, roomId: string, eventId: string): Promise<boolean> {
    try {
      await this.remote.ensureIdentity(portal.matrixUser);
      return true;
    } catch (err) {
      if (err instanceof RemoteError && isPermanent(err.reason)) {
        await this.noticeAsPuppet(portal.remoteUri, roomId, `⚠ Not delivered: ${this.explain(err, this.e164Of(portal.remoteUri))}`, `fail-${eventId}`);
        return false;
      }
      throw err; // transient: the inbound queue retries with backoff
    }
  }

  /** Typing and read receipts of the Matrix user, passed on as chat state and read receipts. */
  async handleEphemeral(ev: MatrixEphemeralEvent): Promise<void> {
    const roomId = ev.room_id;
    if (!roomId) return;
    const portal = this.store.portals.byRoom(roomId);
    if (!portal || !this.allowed(portal.matrixUser)) return;
    if (ev.type === "m.typing") {
      const ids = Array.isArray(ev.content.user_ids) ? (ev.content.user_ids as unknown[]) : [];
      const typing = ids.includes(portal.matrixUser);
      if ((this.typingState.get(roomId) ?? false) === typing) return;
      this.typingState.set(roomId, typing);
      if (!this.remoteReady(portal.matrixUser)) return;
      this.queueSignal(portal, chatStateContent(typing ? ChatStateKind.COMPOSING : ChatStateKind.PAUSED));
      return;
    }
    if (ev.type !== "m.receipt" || !this.config.bridge.send_read_receipts) return;
    let readUpTo = 0;
    for (const [eventId, byType] of Object.entries(ev.content)) {
      // m.read.private stays private by design: only public read receipts are passed on.
      const reads = (byType as Record<string, Record<string, unknown>> | undefined)?.["m.read"];
      if (!reads || !(portal.matrixUser in reads)) continue;
      const mapped = this.store.messages.byEventId(roomId, eventId);
      if (mapped) readUpTo = Math.max(readUpTo, mapped.timestamp);
    }
    if (readUpTo === 0) return;
    const since = this.store.readMarkers.get(roomId);
    const ids = this.store.messages
      .upTo(roomId, "in", readUpTo, 1000)
      .filter((m) => m.timestamp > since)
      .map((m) => m.messageId);
    if (ids.length === 0 || !this.remoteReady(portal.matrixUser)) return;
    this.store.transaction(() => {
      this.queueSignal(portal, receiptContent(ReceiptType.READ, ids, BigInt(Date.now())));
      this.store.readMarkers.set(roomId, readUpTo);
    });
  }

  private remoteReady(matrixUser: string): boolean {
    return this.store.users.get(matrixUser)?.keysUploadedAt != null;
  }

  /** Receipts and chat state: queued like messages, but no notice if they fail (there is nothing to retry by hand). */
  private queueSignal(portal: PortalRow, content: Content): void {
    const messageId = messageIdToString(newMessageId());
    this.store.outbox.add({ matrixUser: portal.matrixUser, remoteUri: portal.remoteUri, messageId, content: encodeContent(content) });
    this.remote.wake();
  }

  // ---------------------------------------------------------------- commands

  private async runCommand(userId: string, roomId: string, body: string, eventId: string): Promise<void> {
    const cmd = parseCommand(body);
    if (!cmd) return;
    const reply = (text: string) => this.notice(this.matrix.botUserId, roomId, text, `cmd-${eventId}`);
    switch (cmd.name) {
      case "help":
        return reply(helpText(this.network));
      case "usage":
        return reply(cmd.message);
      case "unknown":
        return reply(`Unknown command "${cmd.word}". Send "help" for the list of commands.`);
      case "list": {
        const portals = this.store.portals.forUser(userId).filter((p) => p.roomId);
        if (portals.length === 0) return reply("You have no bridged chats yet. Start one with: start-chat <phone number>");
        const lines = portals.map((p) => `• ${formatPhoneInternational(this.e164Of(p.remoteUri))} — https://matrix.to/#/${p.roomId}`);
        return reply(`Your ${this.network} chats:\n${lines.join("\n")}`);
      }
      case "ping": {
        const s = this.remote.status();
        const since = new Date(s.since).toISOString();
        const state = s.connected ? `connected to ${this.network} since ${since}` : `NOT connected to ${this.network} (since ${since}); messages are queued and will be sent when it is back`;
        return reply(`Bridge is ${state}. Messages waiting to be sent: ${s.pendingOutgoing}.`);
      }
      case "start-chat": {
        let e164: string;
        try {
          e164 = normalisePhoneNumber(cmd.number, this.config.bridge.default_country ?? undefined);
        } catch (err) {
          return reply(`"${cmd.number}" is not a phone number I can use: ${(err as Error).message}. Write it with the country code, for example +49 151 12345678.`);
        }
        try {
          const roomId = await this.startChat(userId, e164);
          return reply(`Chat with ${formatPhoneInternational(e164)} is ready: https://matrix.to/#/${roomId} (you have been invited).`);
        } catch (err) {
          return reply(`⚠ ${this.explain(err, e164)}`);
        }
      }
    }
  }

  /** Opens (or reuses) the portal with a phone number after checking the directory. Returns the room ID. */
  async startChat(userId: string, e164: string): Promise<string> {
    await this.remote.ensureIdentity(userId);
    const profile = await this.remote.lookup(userId, e164);
    return this.ensurePortal(userId, e164, profile);
  }

  private ensurePortal(userId: string, e164: string, profile: Pick<RemoteProfile, "name" | "avatar"> | undefined): Promise<string> {
    const name = profile?.name;
    const remoteUri = telUri(e164);
    return this.chatLock.run(this.chatKey(userId, remoteUri), async () => {
      this.store.users.ensure(userId, this.interopUriFor(userId));
      const puppet = await this.matrix.ensurePuppet(e164, { name, avatar: profile?.avatar });
      const existing = this.store.portals.get(userId, remoteUri);
      if (existing?.roomId) {
        const members = await this.matrix.joinedMembers(existing.roomId).catch(() => [] as string[]);
        if (members.includes(puppet)) {
          if (!members.includes(userId)) await this.matrix.invite(puppet, existing.roomId, userId).catch(() => undefined);
          return existing.roomId;
        }
        this.store.portals.forgetRoom(existing.roomId);
      }
      const encrypted = this.config.bridge.encryption.default;
      const roomId = await this.matrix.createPortalRoom({ puppetUserId: puppet, inviteUserId: userId, name: name ?? formatPhoneInternational(e164), encrypted });
      this.store.portals.upsert({ matrixUser: userId, remoteUri, roomId, encrypted });
      this.log.info({ room: roomId, remote: redactPhone(e164) }, "portal created");
      return roomId;
    });
  }

  // ---------------------------------------------------------------- remote -> Matrix

  /** Posts one inbox entry to Matrix. Throwing leaves it queued for a retry. */
  async handleRemoteEntry(entry: InboxEntry): Promise<void> {
    if (!this.allowed(entry.matrixUser)) {
      // Queued before the user's permission was removed; new envelopes for them are refused at the gatekeeper.
      this.log.warn({ user: entry.matrixUser, messageId: entry.messageId }, "not posting a queued remote message: its recipient may no longer use the bridge");
      return;
    }
    const parsed = parseUri(entry.remoteUri);
    if (parsed.kind !== "tel") {
      this.log.warn({ sender: entry.remoteUri }, "dropping content from a non-phone sender: only tel: users are bridged");
      return;
    }
    const e164 = parsed.e164;
    let translated: ToMatrixResult;
    try {
      translated = contentToMatrix(decodeContent(entry.content));
    } catch (err) {
      if (entry.content.length > 0) this.log.warn({ messageId: entry.messageId, reason: (err as Error).message }, "could not decode a remote message");
      translated = { kind: "unsupported", what: entry.content.length === 0 ? "a message that could not be decrypted" : "an unreadable message" };
    }
    const puppet = puppetUserId(this.config, e164);
    const mappedIn = (id: string) => this.store.messages.byMessageId(entry.matrixUser, entry.remoteUri, id);
    if (translated.kind === "receipt" || translated.kind === "typing") {
      const portal = this.store.portals.get(entry.matrixUser, entry.remoteUri);
      if (!portal?.roomId) return; // nothing to mark in a chat that has no room
      if (translated.kind === "typing") return this.matrix.setTyping(puppet, portal.roomId, translated.typing, 30_000);
      if (translated.receiptType === "delivered") {
        for (const m of translated.messageIds.map(mappedIn)) {
          if (m && m.direction === "out") await this.messageStatus(entry.remoteUri, m.roomId, m.eventId, "SUCCESS", `delivered-${m.messageId}`, { delivered_to_users: [puppet] });
        }
        return;
      }
      const latest = translated.messageIds
        .map(mappedIn)
        .filter((m) => m !== undefined && m.roomId === portal.roomId)
        .sort((a, b) => b!.timestamp - a!.timestamp)[0];
      this.log.debug({ receipt: translated.receiptType, ids: translated.messageIds.length, matched: latest?.eventId }, "remote read receipt");
      if (latest) await this.matrix.sendReadReceipt(puppet, latest.roomId, latest.eventId);
      return;
    }
    // A first message from a number: look its profile up so the new puppet gets the contact's name and picture.
    const known = this.store.portals.get(entry.matrixUser, entry.remoteUri)?.roomId;
    const profile = known ? undefined : await this.remote.lookup(entry.matrixUser, e164).catch(() => undefined);
    const roomId = await this.ensurePortal(entry.matrixUser, e164, profile);
    if (entry.identityChanged) {
      await this.notice(puppet, roomId, `🔐 The security code of ${formatPhoneInternational(e164)} changed (new phone or reinstalled ${this.network}). Messages stay end-to-end encrypted.`, `idc-${entry.messageId}`);
    }
    const txn = `in-${entry.messageId}`;
    const cannotShow = (what: string) =>
      this.notice(puppet, roomId, `⚠ ${formatPhoneInternational(e164)} sent ${what}, which this bridge cannot show. Open ${this.network} to see it.`, `unsup-${entry.messageId}`);
    // A new message: posted once (the txnId makes retries idempotent) and mapped for later replies, reactions, edits.
    const post = async (content: Record<string, unknown>) => {
      const eventId = await this.matrix.sendEvent(puppet, roomId, "m.room.message", content, txn);
      this.store.messages.put({ matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, messageId: entry.messageId, roomId, eventId, direction: "in", sender: entry.remoteUri, timestamp: entry.timestamp });
    };
    switch (translated.kind) {
      case "unsupported":
        return cannotShow(translated.what);
      case "media": {
        if (!this.media) return cannotShow(translated.what);
        const portal = this.store.portals.get(entry.matrixUser, entry.remoteUri);
        let content: Record<string, unknown>;
        try {
          content = await this.media.toMatrix(puppet, translated.message, portal?.encrypted ?? false);
        } catch (err) {
          if (!(err instanceof MediaError)) throw err;
          await this.notice(puppet, roomId, `⚠ ${formatPhoneInternational(e164)} sent ${translated.what} that could not be bridged: ${err.userMessage}`, `media-${entry.messageId}`);
          return;
        }
        const quoted = translated.replyTo ? mappedIn(translated.replyTo) : undefined;
        if (quoted && quoted.roomId === roomId) content["m.relates_to"] = { "m.in_reply_to": { event_id: quoted.eventId } };
        return post(content);
      }
      case "message": {
        let text = translated.text;
        let relatesTo: Record<string, unknown> | undefined;
        if (translated.replyTo) {
          const target = mappedIn(translated.replyTo.messageId);
          if (target && target.roomId === roomId) {
            relatesTo = { "m.in_reply_to": { event_id: target.eventId } };
          } else if (translated.replyTo.quotedText) {
            // The quoted message never crossed the bridge: show the quote inline so the reply still makes sense.
            const quote = translated.replyTo.quotedText.split("\n").map((l) => `> ${l}`).join("\n");
            text = `${quote}\n\n${text}`;
          }
        }
        // A text too large for one event goes out in parts (Synapse refuses it whole, for good). The first part is
        // the message (mapped, replied to); later parts get txn IDs derived from the entry's, so retries stay idempotent.
        const { parts, shownChars, totalChars } = splitForMatrix(text);
        await post({ msgtype: "m.text", ...parts[0]!, ...(relatesTo ? { "m.relates_to": relatesTo } : {}) });
        for (let k = 1; k < parts.length; k++) await this.matrix.sendEvent(puppet, roomId, "m.room.message", { msgtype: "m.text", ...parts[k]! }, `${txn}-part${k}`);
        if (shownChars < totalChars) {
          await this.notice(puppet, roomId, `✂ This message from ${formatPhoneInternational(e164)} was too long for Matrix: ${shownChars} of ${totalChars} characters are shown. Open ${this.network} to see all of it.`, `cut-${entry.messageId}`);
        }
        return;
      }
      case "edit": {
        const target = mappedIn(translated.targetId);
        const text = toMatrixText(translated.text);
        if (!target || target.direction !== "in" || target.roomId !== roomId) {
          await this.matrix.sendEvent(puppet, roomId, "m.room.message", { msgtype: "m.text", ...toMatrixText(`✏️ ${translated.text}`) }, txn);
          return;
        }
        await this.matrix.sendEvent(
          puppet,
          roomId,
          "m.room.message",
          {
            msgtype: "m.text",
            body: `* ${text.body}`,
            "m.new_content": { msgtype: "m.text", ...text },
            "m.relates_to": { rel_type: "m.replace", event_id: target.eventId },
          },
          txn,
        );
        return;
      }
      case "revoke": {
        const target = mappedIn(translated.targetId);
        if (!target || target.direction !== "in" || target.roomId !== roomId) {
          this.log.info({ messageId: translated.targetId }, "a deleted message was never bridged; nothing to redact");
          return;
        }
        await this.matrix.redact(puppet, roomId, target.eventId, `revoke-${entry.messageId}`, `Deleted on ${this.network}`);
        return;
      }
      case "reaction": {
        const target = mappedIn(translated.targetId);
        if (!target || target.roomId !== roomId) {
          this.log.info({ messageId: translated.targetId }, "a reaction to a message that was never bridged; ignored");
          return;
        }
        const previous = this.store.reactions.get(entry.matrixUser, entry.remoteUri, translated.targetId, entry.remoteUri);
        // WhatsApp keeps one reaction per person per message: a new one replaces the old, an empty one removes it.
        if (previous) await this.matrix.redact(puppet, roomId, previous.eventId, `unreact-${entry.messageId}`, "Reaction changed");
        if (translated.emoji === "") {
          this.store.reactions.remove(entry.matrixUser, entry.remoteUri, translated.targetId, entry.remoteUri);
          return;
        }
        const eventId = await this.matrix.sendEvent(puppet, roomId, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: target.eventId, key: translated.emoji } }, txn);
        this.store.reactions.put({ matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, targetMessageId: translated.targetId, reactor: entry.remoteUri, emoji: translated.emoji, roomId, eventId });
        return;
      }
    }
  }

  // ---------------------------------------------------------------- delivery outcomes

  /** The runtime gave up posting a remote message after repeated failures: the Matrix user hears about it. */
  async onRemoteEntryAbandoned(entry: InboxEntry, error: unknown): Promise<void> {
    const portal = this.store.portals.get(entry.matrixUser, entry.remoteUri);
    const parsed = parseUri(entry.remoteUri);
    if (!portal?.roomId || parsed.kind !== "tel") return;
    const why = this.internalFailure(error, "gave up posting a remote message");
    await this.notice(puppetUserId(this.config, parsed.e164), portal.roomId, `⚠ A message from ${formatPhoneInternational(parsed.e164)} could not be shown here. ${why} Open ${this.network} to see it.`, `lost-${entry.messageId}`);
  }

  /** The runtime gave up on a Matrix event after repeated failures: the sender hears about it. */
  async onMatrixEventAbandoned(ev: MatrixEvent, error: unknown): Promise<void> {
    const portal = this.store.portals.byRoom(ev.room_id);
    if (!portal || ev.sender !== portal.matrixUser || (ev.type !== "m.room.message" && ev.type !== "m.reaction" && ev.type !== "m.room.encrypted")) return;
    const why = this.internalFailure(error, "gave up on a Matrix event");
    await this.noticeAsPuppet(portal.remoteUri, ev.room_id, `⚠ Not delivered. ${why}`, `abandon-${ev.event_id}`);
  }

  async onSendFailed(entry: OutboxEntry, reason: RemoteFailureReason, detail: string): Promise<void> {
    if (!entry.roomId) return;
    const e164 = this.e164Of(entry.remoteUri);
    const why = this.explain(new RemoteError(reason, detail), e164);
    if (entry.eventId) await this.messageStatus(entry.remoteUri, entry.roomId, entry.eventId, "FAIL_PERMANENT", `fail-${entry.messageId}`, { reason: "m.foreign_network_error", message: why });
    await this.noticeAsPuppet(entry.remoteUri, entry.roomId, `⚠ Not delivered: ${why}`, `fail-${entry.messageId}`);
  }

  /** Called once per outage per room, when a message waits because the gatekeeper is unreachable. */
  async onSendDelayed(entry: OutboxEntry, detail: string): Promise<void> {
    if (!entry.roomId || this.outageNoticeSent.has(entry.roomId)) return;
    this.outageNoticeSent.add(entry.roomId);
    this.log.warn({ room: entry.roomId, detail }, "a message waits: the remote network is unreachable");
    await this.noticeAsPuppet(entry.remoteUri, entry.roomId, `⏳ ${this.network} cannot be reached right now. Your messages are kept and will be sent automatically when the connection is back.`, `delay-${entry.messageId}`);
  }

  async onSent(entry: OutboxEntry): Promise<void> {
    if (entry.roomId) this.outageNoticeSent.delete(entry.roomId);
    if (entry.roomId && entry.eventId) await this.messageStatus(entry.remoteUri, entry.roomId, entry.eventId, "SUCCESS", `sent-${entry.messageId}`);
  }

  /**
   * Delivery status for clients that show it (com.beeper.message_send_status, as other bridges send it). Best effort:
   * the message itself is already delivered or already explained by a notice.
   */
  private async messageStatus(remoteUri: string, roomId: string, eventId: string, status: "SUCCESS" | "FAIL_PERMANENT", txnId: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.config.bridge.message_status_events) return;
    const content = { network: this.network.toLowerCase(), "m.relates_to": { rel_type: "m.reference", event_id: eventId }, status, ...extra };
    await this.matrix
      .sendEvent(puppetUserId(this.config, this.e164Of(remoteUri)), roomId, "com.beeper.message_send_status", content, `mss-${txnId}`)
      .catch((err) => this.log.warn({ err, room: roomId }, "could not post a message status"));
  }

  // ---------------------------------------------------------------- helpers

  private explain(err: unknown, e164: string): string {
    const who = formatPhoneInternational(e164);
    if (err instanceof RemoteError) {
      switch (err.reason) {
        case "unknown_user":
          return `${who} is not on ${this.network}.`;
        case "not_opted_in":
          return `${who} has not enabled chats with other apps (${this.network}: Settings › Account › Third-party chats), so they cannot receive messages from Matrix.`;
        case "blocked":
          return `${who} has blocked you on ${this.network}.`;
        case "rate_limited":
          return `${this.network} is limiting how fast messages can be sent; try again in a moment.`;
        case "invalid":
          this.log.warn({ detail: err.message }, "the remote network refused a request as invalid");
          return `${this.network} refused the message as invalid.`;
        case "unreachable":
          this.log.warn({ detail: err.message }, "the remote network is unreachable");
          return `${this.network} cannot be reached right now.`;
        default:
          return this.internalFailure(err, `the remote network reported an error (${err.reason})`);
      }
    }
    return this.internalFailure(err);
  }

  /** Logs an unexpected failure under a reference and returns the sentence users see: it names no internals. */
  private internalFailure(err: unknown, what = "unexpected error"): string {
    const ref = errorReference();
    this.log.error({ err, ref }, what);
    return `Something went wrong in the bridge (reference ${ref}; the bridge admin can look it up in the log).`;
  }

  private noticeAsPuppet(remoteUri: string, roomId: string, text: string, txnId: string): Promise<void> {
    return this.notice(puppetUserId(this.config, this.e164Of(remoteUri)), roomId, text, txnId);
  }

  private async notice(asUser: string, roomId: string, text: string, txnId: string): Promise<void> {
    await this.matrix.sendEvent(asUser, roomId, "m.room.message", { msgtype: "m.notice", body: text }, txnId);
  }

  private e164Of(remoteUri: string): string {
    const p = parseUri(remoteUri);
    if (p.kind !== "tel") throw new Error(`not a phone-number URI: ${remoteUri}`);
    return p.e164;
  }

  private interopUriFor(userId: string): string {
    return matrixUri(userId);
  }

  private chatKey(userId: string, remoteUri: string): string {
    return `${userId}\u0000${remoteUri}`;
  }
}


/** The interop message ID of a Matrix event: derived, so reprocessing the event can never mint a second message. */
export function messageIdForEvent(roomId: string, eventId: string): string {
  return createHash("sha256").update(`${roomId}\u0000${eventId}`).digest("hex").slice(0, 32).toUpperCase();
}

/** Whether the stripped room state that came with an invite says the room is encrypted. */
function inviteRoomEncrypted(ev: MatrixEvent): boolean {
  const state = ev.unsigned?.invite_room_state;
  return Array.isArray(state) && state.some((s: { type?: unknown; state_key?: unknown }) => s?.type === "m.room.encryption" && s.state_key === "");
}

/** The polite refusal for a user the bridge's permissions do not (or no longer) let in. */
function notAllowedText(network: string): string {
  return `Sorry, you are not allowed to use this ${network} bridge. Ask the homeserver admin to add you to the bridge's permissions.`;
}

/** A short reference that a user can quote to the admin, who finds the details under it in the log. */
function errorReference(): string {
  return randomBytes(4).toString("hex");
}

function isPermanent(reason: RemoteFailureReason): boolean {
  return reason === "unknown_user" || reason === "not_opted_in" || reason === "blocked" || reason === "invalid";
}
