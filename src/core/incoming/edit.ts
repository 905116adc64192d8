// A contact edits one of their messages: a Matrix replacement, or the new text on its own when the original
// never crossed the bridge.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { mappedHere, type IncomingCall } from "./call.js";

export async function editToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "edit" }>): Promise<void> {
  const { ctx } = call;
  const target = await mappedHere(call, ev.targetId);
  if (!target || target.direction !== "in") {
    const fallback = ctx.remote.text.toMatrix(ev.text);
    await ctx.matrix.sendEvent(call.puppet, call.roomId, "m.room.message", { msgtype: "m.text", ...withPrefix(fallback, notices.editFallback) }, call.txn);
    return;
  }
  const text = ctx.remote.text.toMatrix(ev.text);
  await ctx.matrix.sendEvent(
    call.puppet,
    call.roomId,
    "m.room.message",
    { msgtype: "m.text", body: `* ${text.body}`, "m.new_content": { msgtype: "m.text", ...text }, "m.relates_to": { rel_type: "m.replace", event_id: target.eventId } },
    call.txn,
  );
}

function withPrefix<T extends { body: string; formatted_body?: string }>(text: T, prefix: string): T {
  return { ...text, body: prefix + text.body, ...(text.formatted_body !== undefined ? { formatted_body: prefix + text.formatted_body } : {}) };
}
