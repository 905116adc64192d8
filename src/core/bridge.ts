// The bridge core: routes what comes in from Matrix and from the network to the handler for its kind. It talks to
// both sides only through the ports (ports.ts) and keeps its own state in the store.
import { ProvisioningService } from "./provisioning.js";
import type { InboxEntry } from "../store/inbox.js";
import type { OutboxEntry } from "../store/outbox.js";
import { isPuppetUserId } from "../config/identities.js";
import { isPortalCommand, runCommand, runPortalCommand } from "./commands/index.js";
import { refuse } from "./outgoing/queue.js";
import { answerAndTell } from "./commands/requests.js";
import { expireRequests, REQUEST_REACTIONS } from "./requests.js";
import { DISAPPEARING_TIMER_STATE } from "./disappearing.js";
import { timerStateToRemote } from "./outgoing/disappearing.js";
import { pinsToRemote } from "./outgoing/kinds.js";
import { CoreContext, type CoreDeps } from "./context.js";
import type { MatrixEphemeralEvent, MatrixEvent } from "./events.js";
import { ExpirySweeper } from "./expiry-sweeper.js";
import { handleRemoteEntry } from "./incoming/index.js";
import { handleMembership } from "./membership.js";
import { admitSend, type SendAdmission } from "./limits.js";
import { notices } from "./notices.js";
import { isReachableBy } from "./reachability.js";
import * as outcomes from "./outcomes.js";
import { isBridgedType, receiptToRemote, sendToRemote, typingToRemote } from "./outgoing/index.js";
import { startChat } from "./portals.js";
import { admitRemoteSender, countRemoteSender, type SenderAdmission } from "./sender-limits.js";
import type { RemoteFailureReason } from "./ports.js";
import type { PortalRow } from "../store/portals.js";

export type { MatrixEphemeralEvent, MatrixEvent } from "./events.js";
export { messageIdForEvent } from "./outgoing/index.js";

export class BridgeCore {
  private readonly ctx: CoreContext;
  private readonly expiry: ExpirySweeper;

  constructor(deps: CoreDeps) {
    this.ctx = new CoreContext(deps);
    this.expiry = new ExpirySweeper(this.ctx);
    this.ctx.expiryScheduled = (at) => this.expiry.wake(at);
  }

  /** Starts redacting expired disappearing messages (what fell due while the bridge was down, first). */
  startTimers(): void {
    this.expiry.start();
  }

  async stopTimers(): Promise<void> {
    await this.expiry.stop();
  }

  async handleMatrixEvent(ev: MatrixEvent): Promise<void> {
    const { ctx } = this;
    if (ev.sender === ctx.matrix.botUserId || isPuppetUserId(ctx.config, ev.sender) !== null) return; // our own echo
    if (ev.type === "m.room.member") return handleMembership(ctx, ev);
    const portal = await ctx.store.portals.byRoom(ev.room_id);
    if (portal) return this.portalEvent(portal, ev);
    const user = await ctx.store.users.byManagementRoom(ev.room_id);
    if (user && ev.sender === user.userId && ev.type === "m.reaction" && ctx.allowed(ev.sender)) return this.requestReaction(user.userId, ev);
    if (user && ev.sender === user.userId && ev.type === "m.room.message") {
      const body = typeof ev.content.body === "string" ? ev.content.body : "";
      if (!ctx.allowed(ev.sender)) {
        if (body.trim()) await ctx.notice(ctx.matrix.botUserId, ev.room_id, notices.notAllowed(ctx.network), `deny-${ev.event_id}`);
        return;
      }
      return runCommand(ctx, user.userId, ev.room_id, body, ev.event_id);
    }
  }

  /** A reaction on a message request's notice answers it (✅ accept, 🚫 block, 🗑️ ignore). */
  private async requestReaction(userId: string, ev: MatrixEvent): Promise<void> {
    const { ctx } = this;
    const relates = (ev.content["m.relates_to"] ?? {}) as { rel_type?: unknown; event_id?: unknown; key?: unknown };
    if (relates.rel_type !== "m.annotation" || typeof relates.event_id !== "string" || typeof relates.key !== "string") return;
    const answer = REQUEST_REACTIONS[relates.key] ?? REQUEST_REACTIONS[relates.key.replace(/\uFE0F/g, "")];
    if (!answer) return;
    const request = await ctx.store.requests.byNotice(relates.event_id);
    if (!request || request.matrixUser !== userId) return;
    await answerAndTell(ctx, userId, request.contact, answer, (text) => ctx.notice(ctx.matrix.botUserId, ev.room_id, text, `cmd-${ev.event_id}`));
  }

  /** Closes message requests past their expiry (the runtime calls this now and then). */
  expireRequests(now = Date.now()): Promise<number> {
    return expireRequests(this.ctx, now);
  }

  private async portalEvent(portal: PortalRow, ev: MatrixEvent): Promise<void> {
    const { ctx } = this;
    // Encryption turned on in an existing portal; the Matrix side encrypts from now on (it reads the room state).
    if (ev.type === "m.room.encryption" && ev.state_key === "" && !portal.encrypted) await ctx.store.portals.upsert({ ...portal, encrypted: true });
    if (ev.sender !== portal.matrixUser) return; // someone else in a portal: not bridged (1:1 chats only)
    if (!ctx.allowed(ev.sender)) {
      // A user whose permission was removed writes in an old portal: nothing is bridged, and they are told why.
      if (ev.type !== "m.room.message" && ev.type !== "m.reaction" && ev.type !== "m.room.encrypted") return;
      ctx.log.warn({ user: ev.sender, room: ev.room_id }, "not bridging an event: the sender is no longer allowed to use the bridge");
      return ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.notDelivered(notices.notAllowed(ctx.network)), `deny-${ev.event_id}`);
    }
    if (ev.type === DISAPPEARING_TIMER_STATE && ev.state_key === "") return timerStateToRemote(ctx, portal, ev);
    if (ev.type === "m.room.pinned_events" && ev.state_key === "") return pinsToRemote(ctx, portal, ev);
    // "!wa …" in a portal is a command for the bridge, never a message to the contact.
    const body = ev.type === "m.room.message" && typeof ev.content.body === "string" ? ev.content.body : undefined;
    if (body !== undefined && portal.roomId && isPortalCommand(ctx, body)) return runPortalCommand(ctx, portal, ev);
    if (isBridgedType(ev.type)) {
      if (ev.type !== "m.room.redaction" && (await ctx.remote.safety?.isBlocked(portal.matrixUser, portal.remoteUri))) {
        return refuse(ctx, portal, ev, notices.youBlockedThem(ctx.label(portal.remoteUri), ctx.remote.phrases.commandPrefix));
      }
      return sendToRemote(ctx, portal, ev);
    }
    // Encrypted events reach the core only when the bridge runs without Matrix encryption (config allow: false).
    if (ev.type === "m.room.encrypted") await ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.encryptionNotAllowed(), `enc-${ev.event_id}`);
  }

  /** Typing and read receipts of the Matrix user, passed on as chat state and read receipts. */
  async handleEphemeral(ev: MatrixEphemeralEvent): Promise<void> {
    const roomId = ev.room_id;
    if (!roomId) return;
    const portal = await this.ctx.store.portals.byRoom(roomId);
    if (!portal || !this.ctx.allowed(portal.matrixUser)) return;
    if (ev.type === "m.typing") await typingToRemote(this.ctx, portal, roomId, ev);
    else if (ev.type === "m.receipt") await receiptToRemote(this.ctx, portal, roomId, ev);
  }

  /** Whether remote traffic for this Matrix user may be bridged at all; the runtime refuses envelopes for others. */
  acceptsRemoteFor(matrixUser: string): boolean {
    return this.ctx.allowed(matrixUser);
  }

  /** Whether the user's reachability setting lets a message from this contact through; the runtime refuses the rest. */
  reachableBy(matrixUser: string, contact: string): Promise<boolean> {
    return isReachableBy(this.ctx, matrixUser, contact);
  }

  /** Whether the per-sender flood limits let an envelope from this contact in; the runtime refuses the rest. */
  admitRemoteSender(matrixUser: string, contact: string): Promise<SenderAdmission> {
    return admitRemoteSender(this.ctx, matrixUser, contact);
  }

  /** An envelope from this contact was taken: it counts against the contact's messages per minute. */
  countRemoteSender(contact: string): void {
    countRemoteSender(this.ctx, contact);
  }

  /** What the provisioning API may do for a user. */
  provisioning(): ProvisioningService {
    return new ProvisioningService(this.ctx);
  }

  /** Opens (or reuses) the portal with a contact after checking the directory. Returns the room ID. */
  startChat(userId: string, contact: string): Promise<string> {
    return startChat(this.ctx, userId, contact);
  }

  handleRemoteEntry(entry: InboxEntry): Promise<void> {
    return handleRemoteEntry(this.ctx, entry);
  }

  onRemoteEntryAbandoned(entry: InboxEntry, error: unknown): Promise<void> {
    return outcomes.onRemoteEntryAbandoned(this.ctx, entry, error);
  }

  onMatrixEventAbandoned(ev: MatrixEvent, error: unknown): Promise<void> {
    return outcomes.onMatrixEventAbandoned(this.ctx, ev, error);
  }

  onSendFailed(entry: OutboxEntry, reason: RemoteFailureReason, detail: string): Promise<void> {
    return outcomes.onSendFailed(this.ctx, entry, reason, detail);
  }

  onSendDelayed(entry: OutboxEntry, detail: string): Promise<void> {
    return outcomes.onSendDelayed(this.ctx, entry, detail);
  }

  onSendRateLimited(entry: OutboxEntry, afterMs: number | undefined): Promise<void> {
    return outcomes.onSendRateLimited(this.ctx, entry, afterMs);
  }

  onSendHeld(entry: OutboxEntry): Promise<void> {
    return outcomes.onSendHeld(this.ctx, entry);
  }

  /** Whether an outbox entry is within the user's bridge-side limits (bridge.limits); tells the user when it is not. */
  admitSend(entry: OutboxEntry): Promise<SendAdmission> {
    return admitSend(this.ctx, entry);
  }

  onSent(entry: OutboxEntry): Promise<void> {
    return outcomes.onSent(this.ctx, entry);
  }
}
