// Bridge-side flood limits per Matrix user (bridge.limits): messages per minute and new chats per hour. The
// gatekeeper limits every sender on its own side; these keep one Matrix account from turning the bridge into a spam
// cannon before the network has to step in. Nothing over a limit is dropped: a message is held in the outbox until
// the minute allows (one notice per room while held) or refused with a notice; a new chat is refused, saying when the
// next one is possible. The counts live in the store, so a restart does not reset them.
import type { OutboxEntry } from "../store/outbox.js";
import { KeyedLock } from "../util/keyed-lock.js";
import type { CoreContext } from "./context.js";
import { LimitError } from "./limit-error.js";
import { notices } from "./notices.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export type SendAdmission = { kind: "go" } | { kind: "held"; retryAfterMs: number } | { kind: "refused" };

/** One user's count and record at a time (PostgreSQL transactions do not serialise like SQLite's). */
const userLock = new KeyedLock();

/**
 * Whether an outbox entry may go now. Only what the user sent as a Matrix event counts (messages, reactions, edits,
 * deletions); receipts and typing do not. A held entry stays the head of its chat, so its chat keeps its order.
 */
export async function admitSend(ctx: CoreContext, entry: OutboxEntry): Promise<SendAdmission> {
  const limit = ctx.config.bridge.limits.messages_per_minute;
  if (limit === 0 || entry.eventId === null) return { kind: "go" };
  const admission = await userLock.run(entry.matrixUser, () => ctx.store.limits.admit(entry.matrixUser, "message", entry.messageId, limit, MINUTE_MS));
  if (admission.ok) return { kind: "go" };
  ctx.log.info({ messageId: entry.messageId, limit, retryInMs: admission.retryAfterMs }, "a message is over the user's messages per minute");
  if (ctx.config.bridge.limits.messages_over_limit === "refuse") {
    if (entry.roomId) {
      const why = notices.overMessageLimit(limit);
      await ctx.messageStatus(entry.remoteUri, entry.roomId, entry.eventId, "FAIL_PERMANENT", `limit-${entry.messageId}`, { reason: "m.foreign_network_error", message: why });
      await ctx.noticeAsPuppet(entry.remoteUri, entry.roomId, notices.notDelivered(why), `limit-${entry.messageId}`);
    }
    return { kind: "refused" };
  }
  if (entry.roomId && !ctx.limitNoticeSent.has(entry.roomId)) {
    ctx.limitNoticeSent.add(entry.roomId);
    await ctx
      .noticeAsPuppet(entry.remoteUri, entry.roomId, notices.heldOverMessageLimit(limit, admission.retryAfterMs), `limit-${entry.messageId}`)
      .catch((err) => ctx.log.warn({ err }, "could not post the held notice"));
  }
  return { kind: "held", retryAfterMs: admission.retryAfterMs };
}

/**
 * Counts a chat the user opens with a contact they never had one with; throws LimitError over the limit. Reopening a
 * chat (a portal row exists, with or without a room) and accepting a message request are not new chats of theirs.
 */
export async function admitNewPortal(ctx: CoreContext, userId: string, contact: string): Promise<void> {
  const limit = ctx.config.bridge.limits.new_portals_per_hour;
  if (limit === 0 || (await ctx.store.portals.get(userId, contact))) return;
  const admission = await userLock.run(userId, () => ctx.store.limits.admit(userId, "portal", contact, limit, HOUR_MS));
  if (admission.ok) return;
  ctx.log.info({ limit, retryInMs: admission.retryAfterMs }, "a new chat is over the user's new chats per hour");
  throw new LimitError(notices.overPortalLimit(limit, admission.retryAfterMs));
}
