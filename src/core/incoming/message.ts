// A contact's text message, possibly a reply; split into several Matrix messages when one event cannot hold it.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { splitForMatrix } from "../text-limits.js";
import { postMessage, quotedHere, type IncomingCall } from "./call.js";
import { decorate } from "./decorations.js";

export async function messageToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "message" }>): Promise<void> {
  const { ctx } = call;
  let text = ev.text;
  let relatesTo: Record<string, unknown> | undefined;
  if (ev.replyTo) {
    const target = await quotedHere(call, ev.replyTo.messageId);
    if (target) relatesTo = { "m.in_reply_to": { event_id: target.eventId } };
    // The quoted message never crossed the bridge: show the quote inline so the reply still makes sense.
    else if (ev.replyTo.quotedText) text = ctx.remote.text.withQuote(ev.replyTo.quotedText, text);
  }
  // A text too large for one event goes out in parts (Synapse refuses it whole, for good). The first part is the
  // message (mapped, replied to); later parts get txn IDs derived from the entry's, so retries stay idempotent.
  const { parts, shownChars, totalChars } = splitForMatrix(text, { convert: ctx.remote.text.toMatrix });
  await postMessage(call, decorate(call, { msgtype: "m.text", ...parts[0]!, ...(relatesTo ? { "m.relates_to": relatesTo } : {}) }, ev));
  for (let k = 1; k < parts.length; k++) await ctx.matrix.sendEvent(call.puppet, call.roomId, "m.room.message", { msgtype: "m.text", ...parts[k]! }, `${call.txn}-part${k}`);
  if (shownChars < totalChars) {
    await ctx.notice(call.puppet, call.roomId, notices.cut(ctx.label(call.contact), shownChars, totalChars, ctx.network), `cut-${call.entry.messageId}`);
  }
}
