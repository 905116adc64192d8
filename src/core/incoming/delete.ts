// A contact deletes one of their messages for everyone: the puppet redacts it.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { mappedHere, type IncomingCall } from "./call.js";

export async function deleteToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "delete" }>): Promise<void> {
  const { ctx } = call;
  const target = await mappedHere(call, ev.targetId);
  if (!target || target.direction !== "in") {
    ctx.log.info({ messageId: ev.targetId }, "a deleted message was never bridged; nothing to redact");
    return;
  }
  await ctx.matrix.redact(call.puppet, call.roomId, target.eventId, `revoke-${call.entry.messageId}`, notices.deletedReason(ctx.network));
}
