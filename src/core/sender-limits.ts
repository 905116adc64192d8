// Bridge-side flood limits per remote sender (bridge.limits.sender_*), over all of this bridge's users: envelopes per
// minute, and new chats per hour (a number writing to users it has no portal or open request with). The gatekeeper
// limits every sender on its side too; these hold when a gatekeeper is laxer than this bridge's admin wants, and a
// stranger's flood is refused before it costs a decryption, a puppet or a request.
//
// Excess is refused back to the sender (the envelope's Ack says RATE_LIMITED, the gatekeeper tells the sender it was
// not delivered), never dropped. Checked before decrypting, so every envelope counts, receipts and typing included,
// as at the gatekeeper. Envelopes per minute are counted in memory (a restart forgets at most one minute, and a
// sender cannot cause a restart); new chats are counted in the store, since an hour is long enough to matter.
import type { CoreContext } from "./context.js";

const HOUR_MS = 3_600_000;

export type SenderAdmission = { ok: true } | { ok: false; detail: string; retryAfterMs: number };

/** Whether an envelope from `sender` to the user may be taken now; counts a new chat when it is one. */
export async function admitRemoteSender(ctx: CoreContext, matrixUser: string, sender: string): Promise<SenderAdmission> {
  const limits = ctx.config.bridge.limits;
  if (limits.sender_messages_per_minute > 0) {
    const retryAfterMs = ctx.senderMinute.retryAfterMs(sender, limits.sender_messages_per_minute);
    if (retryAfterMs > 0) {
      ctx.log.info({ sender, limit: limits.sender_messages_per_minute, retryInMs: retryAfterMs }, "refusing an envelope: the sender is over its messages per minute");
      return { ok: false, detail: `the sender is over this provider's limit of ${limits.sender_messages_per_minute} messages per minute`, retryAfterMs };
    }
  }
  if (await ctx.store.portals.get(matrixUser, sender)) return { ok: true };
  const request = await ctx.store.requests.get(matrixUser, sender);
  if (request) {
    // Refused before it is decrypted, so the sender hears it; a few decrypted meanwhile are counted as not kept.
    const cap = ctx.config.bridge.message_request_max_held;
    if (request.held < cap) return { ok: true };
    ctx.log.info({ sender, cap }, "refusing an envelope: the sender's message request holds as many messages as allowed");
    return { ok: false, detail: `the recipient has not accepted this sender yet and holds ${cap} messages from it already`, retryAfterMs: Math.max(1, request.expiresAt - Date.now()) };
  }
  const perHour = limits.sender_new_chats_per_hour;
  if (perHour === 0) return { ok: true };
  // The ref is the user, so a chat counts once however many envelopes open it (and again for a retried one).
  const admission = await ctx.store.limits.admit(sender, "remote_chat", matrixUser, perHour, HOUR_MS);
  if (admission.ok) return { ok: true };
  ctx.log.info({ sender, limit: perHour, retryInMs: admission.retryAfterMs }, "refusing an envelope: the sender is over its new chats per hour");
  return { ok: false, detail: `the sender is over this provider's limit of ${perHour} new chats per hour`, retryAfterMs: admission.retryAfterMs };
}

/** Counts an envelope from `sender` that was taken (queued), against its messages per minute. */
export function countRemoteSender(ctx: CoreContext, sender: string): void {
  if (ctx.config.bridge.limits.sender_messages_per_minute > 0) ctx.senderMinute.add(sender);
}
