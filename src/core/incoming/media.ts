// A contact's image, video, voice note, audio or file: verified and uploaded by the media port, then posted.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { MediaError, type MatrixContent } from "../ports.js";
import { cannotShow, postMessage, quotedHere, type IncomingCall } from "./call.js";
import { decorate } from "./decorations.js";

export async function mediaToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "media" }>): Promise<void> {
  const { ctx, entry } = call;
  if (!ctx.media) return cannotShow(call, ev.what);
  const portal = await ctx.store.portals.get(entry.matrixUser, entry.remoteUri);
  let content: MatrixContent;
  try {
    content = await ctx.media.toMatrix(call.puppet, ev.media, portal?.encrypted ?? false);
  } catch (err) {
    if (!(err instanceof MediaError)) throw err;
    await ctx.notice(call.puppet, call.roomId, notices.mediaFailed(ctx.label(call.contact), ev.what, err.userMessage), `media-${entry.messageId}`);
    return;
  }
  const quoted = ev.replyTo ? await quotedHere(call, ev.replyTo) : undefined;
  if (quoted) content["m.relates_to"] = { "m.in_reply_to": { event_id: quoted.eventId } };
  if (ev.sticker) {
    // m.sticker is an event type of its own, with the image's body, info and url (or file) but no msgtype.
    const { msgtype: _msgtype, ...sticker } = content;
    await postMessage(call, sticker, call.txn, "m.sticker");
    return;
  }
  await postMessage(call, decorate(call, content, ev));
}
