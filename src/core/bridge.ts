// The bridge core: portals, puppets, commands and the translation of events in both directions.
// It talks to Matrix and to the remote network only through the ports, and to the store for its own state.
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/schema.js";
import { isPuppetUserId, puppetUserId } from "../config/identities.js";
import { permissionFor } from "../config/permissions.js";
import { decodeContent, encodeContent } from "../protocol/content.js";
import { formatPhoneInternational, matrixUri, normalisePhoneNumber, parseUri, telUri } from "../protocol/uri.js";
import type { BridgeStore } from "../store/store.js";
import type { InboxEntry } from "../store/inbox.js";
import type { OutboxEntry } from "../store/outbox.js";
import { KeyedLock } from "../util/keyed-lock.js";
import { helpText, parseCommand } from "./commands.js";
import { RemoteError, type MatrixSide, type RemoteFailureReason, type RemoteNetwork } from "./ports.js";
import { matrixMessageToContent } from "./to-remote.js";
import { contentToMatrix } from "./to-matrix.js";
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
}

export class BridgeCore {
  private readonly chatLock = new KeyedLock();
  private readonly outageNoticeSent = new Set<string>();

  constructor(
    private readonly config: BridgeConfig,
    private readonly store: BridgeStore,
    private readonly matrix: MatrixSide,
    private readonly remote: RemoteNetwork,
    private readonly log: Logger,
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
      if (ev.sender !== portal.matrixUser) return; // someone else in a portal: not bridged (1:1 chats only)
      if (!this.allowed(ev.sender)) return;
      if (ev.type === "m.room.message") return this.sendToRemote(portal.matrixUser, portal.remoteUri, ev);
      if (ev.type === "m.room.encrypted") {
        await this.noticeAsPuppet(portal.remoteUri, ev.room_id, "⚠ This message was not delivered: encrypted Matrix rooms are not bridged yet.", `enc-${ev.event_id}`);
      }
      return;
    }
    const user = this.store.users.byManagementRoom(ev.room_id);
    if (user && ev.sender === user.userId && ev.type === "m.room.message") {
      const body = typeof ev.content.body === "string" ? ev.content.body : "";
      return this.runCommand(user.userId, ev.room_id, body, ev.event_id);
    }
  }

  private allowed(userId: string): boolean {
    return permissionFor(this.config, userId) !== null;
  }

  private async handleMembership(ev: MatrixEvent): Promise<void> {
    const membership = ev.content.membership;
    const target = ev.state_key ?? "";
    if (membership === "invite" && target === this.matrix.botUserId) return this.botInvited(ev);
    const digits = isPuppetUserId(this.config, target);
    if (membership === "invite" && digits !== null) return this.puppetInvited(ev, `+${digits}`);
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
    await this.matrix.joinRoom(this.matrix.botUserId, ev.room_id);
    if (!this.allowed(ev.sender)) {
      await this.notice(this.matrix.botUserId, ev.room_id, `Sorry, you are not allowed to use this ${this.network} bridge. Ask the homeserver admin to add you to the bridge's permissions.`, `deny-${ev.event_id}`);
      await this.matrix.leaveRoom(this.matrix.botUserId, ev.room_id, "not allowed to use the bridge");
      return;
    }
    this.store.users.ensure(ev.sender, this.interopUriFor(ev.sender));
    this.store.users.setManagementRoom(ev.sender, ev.room_id);
    await this.notice(this.matrix.botUserId, ev.room_id, helpText(this.network), `help-${ev.event_id}`);
  }

  private async puppetInvited(ev: MatrixEvent, e164: string): Promise<void> {
    const puppet = puppetUserId(this.config, e164);
    await this.matrix.ensurePuppet(e164, {});
    await this.matrix.joinRoom(puppet, ev.room_id);
    if (!this.allowed(ev.sender)) {
      await this.notice(puppet, ev.room_id, `Sorry, you are not allowed to use this ${this.network} bridge.`, `deny-${ev.event_id}`);
      await this.matrix.leaveRoom(puppet, ev.room_id, "not allowed to use the bridge");
      return;
    }
    await this.chatLock.run(this.chatKey(ev.sender, telUri(e164)), async () => {
      try {
        await this.remote.ensureIdentity(ev.sender);
        const profile = await this.remote.lookup(ev.sender, e164);
        await this.matrix.ensurePuppet(e164, { name: profile.name });
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
      this.store.portals.upsert({ matrixUser: ev.sender, remoteUri: telUri(e164), roomId: ev.room_id, encrypted: false });
      this.log.info({ room: ev.room_id, remote: redactPhone(e164) }, "portal adopted from an invite");
    });
  }

  private async sendToRemote(matrixUser: string, remoteUri: string, ev: MatrixEvent): Promise<void> {
    // A redelivered event (Synapse retry, or our crash before the queue entry was cleared) is queued once only.
    if (this.store.messages.byEventId(ev.room_id, ev.event_id)) return;
    const translated = matrixMessageToContent(ev.content);
    if (!translated.ok) {
      await this.noticeAsPuppet(remoteUri, ev.room_id, `⚠ Not delivered: ${translated.reason}.`, `unsup-${ev.event_id}`);
      return;
    }
    try {
      await this.remote.ensureIdentity(matrixUser);
    } catch (err) {
      if (err instanceof RemoteError && isPermanent(err.reason)) {
        await this.noticeAsPuppet(remoteUri, ev.room_id, `⚠ Not delivered: ${this.explain(err, this.e164Of(remoteUri))}`, `fail-${ev.event_id}`);
        return;
      }
      throw err; // transient: the inbound queue retries with backoff
    }
    const messageId = messageIdForEvent(ev.room_id, ev.event_id);
    const content = encodeContent(translated.content);
    this.store.transaction(() => {
      this.store.outbox.add({ matrixUser, remoteUri, messageId, roomId: ev.room_id, eventId: ev.event_id, content });
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
    });
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
        const state = s.connected ? `connected to ${this.network} since ${since}` : `NOT connected to ${this.network} (since ${since}${s.lastError ? `: ${s.lastError}` : ""}); messages are queued and will be sent when it is back`;
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
    return this.ensurePortal(userId, e164, profile.name);
  }

  private ensurePortal(userId: string, e164: string, name: string | undefined): Promise<string> {
    const remoteUri = telUri(e164);
    return this.chatLock.run(this.chatKey(userId, remoteUri), async () => {
      this.store.users.ensure(userId, this.interopUriFor(userId));
      const puppet = await this.matrix.ensurePuppet(e164, { name });
      const existing = this.store.portals.get(userId, remoteUri);
      if (existing?.roomId) {
        const members = await this.matrix.joinedMembers(existing.roomId).catch(() => [] as string[]);
        if (members.includes(puppet)) {
          if (!members.includes(userId)) await this.matrix.invite(puppet, existing.roomId, userId).catch(() => undefined);
          return existing.roomId;
        }
        this.store.portals.forgetRoom(existing.roomId);
      }
      const encrypted = false; // Matrix E2EE for portals arrives with the crypto engine
      const roomId = await this.matrix.createPortalRoom({ puppetUserId: puppet, inviteUserId: userId, name: name ?? formatPhoneInternational(e164), encrypted });
      this.store.portals.upsert({ matrixUser: userId, remoteUri, roomId, encrypted });
      this.log.info({ room: roomId, remote: redactPhone(e164) }, "portal created");
      return roomId;
    });
  }

  // ---------------------------------------------------------------- remote -> Matrix

  /** Posts one inbox entry to Matrix. Throwing leaves it queued for a retry. */
  async handleRemoteEntry(entry: InboxEntry): Promise<void> {
    const parsed = parseUri(entry.remoteUri);
    if (parsed.kind !== "tel") {
      this.log.warn({ sender: entry.remoteUri }, "dropping content from a non-phone sender: only tel: users are bridged");
      return;
    }
    const e164 = parsed.e164;
    let translated;
    try {
      translated = contentToMatrix(decodeContent(entry.content));
    } catch (err) {
      translated = { kind: "unsupported" as const, what: `an unreadable message (${(err as Error).message})` };
    }
    if (translated.kind === "receipt" || translated.kind === "typing") {
      const portal = this.store.portals.get(entry.matrixUser, entry.remoteUri);
      if (!portal?.roomId) return; // nothing to mark in a chat that has no room
      const puppet = puppetUserId(this.config, e164);
      if (translated.kind === "typing") return this.matrix.setTyping(puppet, portal.roomId, translated.typing, 30_000);
      if (translated.receiptType === "delivered") return;
      const mapped = translated.messageIds
        .map((id) => this.store.messages.byMessageId(entry.matrixUser, entry.remoteUri, id))
        .filter((m) => m !== undefined)
        .sort((a, b) => b.timestamp - a.timestamp);
      if (mapped[0]) await this.matrix.sendReadReceipt(puppet, mapped[0].roomId, mapped[0].eventId);
      return;
    }
    const roomId = await this.ensurePortal(entry.matrixUser, e164, undefined);
    const puppet = puppetUserId(this.config, e164);
    if (entry.identityChanged) {
      await this.notice(puppet, roomId, `🔐 The security code of ${formatPhoneInternational(e164)} changed (new phone or reinstalled ${this.network}). Messages stay end-to-end encrypted.`, `idc-${entry.messageId}`);
    }
    if (translated.kind === "unsupported") {
      await this.notice(puppet, roomId, `⚠ ${formatPhoneInternational(e164)} sent ${translated.what}, which this bridge cannot show yet. Open ${this.network} to see it.`, `unsup-${entry.messageId}`);
      return;
    }
    const eventId = await this.matrix.sendEvent(puppet, roomId, translated.eventType, translated.content, `in-${entry.messageId}`);
    this.store.messages.put({
      matrixUser: entry.matrixUser,
      remoteUri: entry.remoteUri,
      messageId: entry.messageId,
      roomId,
      eventId,
      direction: "in",
      sender: entry.remoteUri,
      timestamp: entry.timestamp,
    });
  }

  // ---------------------------------------------------------------- delivery outcomes

  async onSendFailed(entry: OutboxEntry, reason: RemoteFailureReason, detail: string): Promise<void> {
    if (!entry.roomId) return;
    const e164 = this.e164Of(entry.remoteUri);
    await this.noticeAsPuppet(entry.remoteUri, entry.roomId, `⚠ Not delivered: ${this.explain(new RemoteError(reason, detail), e164)}`, `fail-${entry.messageId}`);
  }

  /** Called once per outage per room, when a message waits because the gatekeeper is unreachable. */
  async onSendDelayed(entry: OutboxEntry, detail: string): Promise<void> {
    if (!entry.roomId || this.outageNoticeSent.has(entry.roomId)) return;
    this.outageNoticeSent.add(entry.roomId);
    await this.noticeAsPuppet(entry.remoteUri, entry.roomId, `⏳ ${this.network} cannot be reached right now (${detail}). Your messages are kept and will be sent automatically when the connection is back.`, `delay-${entry.messageId}`);
  }

  onSent(entry: OutboxEntry): void {
    if (entry.roomId) this.outageNoticeSent.delete(entry.roomId);
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
          return `${this.network} refused the message as invalid (${err.message}).`;
        case "unreachable":
          return `${this.network} cannot be reached right now (${err.message}).`;
        default:
          return `${this.network} reported an error (${err.message}).`;
      }
    }
    this.log.error({ err }, "unexpected error");
    return `Something went wrong in the bridge (${(err as Error)?.message ?? String(err)}).`;
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

function isPermanent(reason: RemoteFailureReason): boolean {
  return reason === "unknown_user" || reason === "not_opted_in" || reason === "blocked" || reason === "invalid";
}
