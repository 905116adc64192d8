// A contact's receipts: "delivered" becomes a delivery status of the user's message (when enabled), "read" and
// "played" the puppet's read receipt on the newest message they cover.
import type { RemoteEvent } from "../events.js";
import { mappedHere, type IncomingCall } from "./call.js";

export async function receiptToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "receipt" }>): Promise<void> {
  const { ctx, entry } = call;
  if (ev.receipt === "read_self" || ev.receipt === "played_self") {
    // The Matrix user's own other device: the bridge cannot move the user's own read marker (no double puppeting).
    ctx.log.debug({ receipt: ev.receipt, ids: ev.messageIds.length }, "a receipt from the user's own other device; nothing to show");
    return;
  }
  if (ev.receipt === "delivered") {
    for (const id of ev.messageIds) {
      const m = await ctx.store.messages.byMessageId(entry.matrixUser, entry.remoteUri, id);
      if (m && m.direction === "out") await ctx.messageStatus(entry.remoteUri, m.roomId, m.eventId, "SUCCESS", `delivered-${m.messageId}`, { delivered_to_users: [call.puppet] });
    }
    return;
  }
  const mapped = [];
  for (const id of ev.messageIds) {
    const m = await mappedHere(call, id);
    if (m) mapped.push(m);
  }
  const latest = mapped.sort((a, b) => b.timestamp - a.timestamp)[0];
  ctx.log.debug({ receipt: ev.receipt, ids: ev.messageIds.length, matched: latest?.eventId }, "remote read receipt");
  if (latest) await ctx.matrix.sendReadReceipt(call.puppet, latest.roomId, latest.eventId);
}
