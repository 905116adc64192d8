// What happened to queued work, as the runtime reports it: sent, refused, delayed by an outage, or given up on.
// The user hears about every failure in the room where they wait.
import type { InboxEntry } from "../store/inbox.js";
import type { OutboxEntry } from "../store/outbox.js";
import type { CoreContext } from "./context.js";
import type { MatrixEvent } from "./events.js";
import { notices } from "./notices.js";
import { RemoteError, type RemoteFailureReason } from "./ports.js";
import { announceIdentityNews, commandText } from "./safety.js";

/** The runtime gave up posting a remote message: the Matrix user hears about it. */
export async function onRemoteEntryAbandoned(ctx: CoreContext, entry: InboxEntry, error: unknown): Promise<void> {
  const portal = await ctx.store.portals.get(entry.matrixUser, entry.remoteUri);
  if (!portal?.roomId || !ctx.remote.ids.isContact(entry.remoteUri)) return;
  const why = ctx.internalFailure(error, "gave up posting a remote message");
  await ctx.noticeAsPuppet(entry.remoteUri, portal.roomId, notices.givenUpIncoming(ctx.label(entry.remoteUri), why, ctx.network), `lost-${entry.messageId}`);
}

/** The runtime gave up on a Matrix event: the sender hears about it. */
export async function onMatrixEventAbandoned(ctx: CoreContext, ev: MatrixEvent, error: unknown): Promise<void> {
  const portal = await ctx.store.portals.byRoom(ev.room_id);
  if (!portal || ev.sender !== portal.matrixUser || (ev.type !== "m.room.message" && ev.type !== "m.reaction" && ev.type !== "m.room.encrypted")) return;
  const why = ctx.internalFailure(error, "gave up on a Matrix event");
  await ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.givenUpOutgoing(why), `abandon-${ev.event_id}`);
}

export async function onSendFailed(ctx: CoreContext, entry: OutboxEntry, reason: RemoteFailureReason, detail: string): Promise<void> {
  if (!entry.roomId) return;
  await announceIdentityNews(ctx, entry.matrixUser, entry.remoteUri, entry.roomId);
  const why = ctx.explain(new RemoteError(reason, detail), entry.remoteUri);
  if (entry.eventId) await ctx.messageStatus(entry.remoteUri, entry.roomId, entry.eventId, "FAIL_PERMANENT", `fail-${entry.messageId}`, { reason: "m.foreign_network_error", message: why });
  await ctx.noticeAsPuppet(entry.remoteUri, entry.roomId, notices.notDelivered(why), `fail-${entry.messageId}`);
}

/** Called once per outage per room, when a message waits because the network is unreachable. */
export async function onSendDelayed(ctx: CoreContext, entry: OutboxEntry, detail: string): Promise<void> {
  if (!entry.roomId || ctx.outageNoticeSent.has(entry.roomId)) return;
  ctx.outageNoticeSent.add(entry.roomId);
  ctx.log.warn({ room: entry.roomId, detail }, "a message waits: the remote network is unreachable");
  await ctx.noticeAsPuppet(entry.remoteUri, entry.roomId, notices.outage(ctx.network), `delay-${entry.messageId}`);
}

/** The network limits how fast the user may send: the message waits and goes out by itself; they hear it once. */
export async function onSendRateLimited(ctx: CoreContext, entry: OutboxEntry, afterMs: number | undefined): Promise<void> {
  // Once per room while the limit lasts: a burst of held messages gets one notice, not one each.
  if (!entry.roomId || ctx.rateLimitNoticeSent.has(entry.roomId)) return;
  ctx.rateLimitNoticeSent.add(entry.roomId);
  await ctx.noticeAsPuppet(entry.remoteUri, entry.roomId, notices.heldRateLimited(ctx.network, afterMs), `ratelimited-${entry.messageId}`);
}

/**
 * A message waits until the user verifies the contact's new security code (bridge.identity_change:
 * block_until_verified): the change is announced, and the user hears once per message that it is held.
 */
export async function onSendHeld(ctx: CoreContext, entry: OutboxEntry): Promise<void> {
  if (!entry.roomId) return;
  await announceIdentityNews(ctx, entry.matrixUser, entry.remoteUri, entry.roomId);
  if (ctx.heldNoticeSent.has(entry.messageId)) return;
  ctx.heldNoticeSent.add(entry.messageId);
  const who = ctx.label(entry.remoteUri);
  await ctx.noticeAsPuppet(entry.remoteUri, entry.roomId, notices.heldForVerification(who, commandText(ctx, "safety-number"), commandText(ctx, "verify")), `held-${entry.messageId}`);
}

export async function onSent(ctx: CoreContext, entry: OutboxEntry): Promise<void> {
  if (entry.roomId) await announceIdentityNews(ctx, entry.matrixUser, entry.remoteUri, entry.roomId);
  if (entry.roomId) {
    ctx.outageNoticeSent.delete(entry.roomId);
    ctx.limitNoticeSent.delete(entry.roomId);
    ctx.rateLimitNoticeSent.delete(entry.roomId);
  }
  if (entry.roomId && entry.eventId) await ctx.messageStatus(entry.remoteUri, entry.roomId, entry.eventId, "SUCCESS", `sent-${entry.messageId}`);
}
