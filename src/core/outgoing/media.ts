// Matrix media messages (images, videos, voice and other audio, files) and stickers, through the network's media port.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent, MessageRef, RemoteMedia } from "../events.js";
import { notices } from "../notices.js";
import { MediaError } from "../ports.js";
import { quotedByMatrixReply } from "../quotable.js";
import { relationOf } from "./message.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

async function quoteOf(ctx: CoreContext, ev: MatrixEvent): Promise<MessageRef | undefined> {
  const target = await quotedByMatrixReply(ctx, ev.room_id, relationOf(ev.content)["m.in_reply_to"]?.event_id);
  return target ? refOf(target) : undefined;
}

export async function mediaToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  let media: RemoteMedia;
  try {
    media = await ctx.media!.toRemote(portal.matrixUser, ev.content, await quoteOf(ctx, ev));
  } catch (err) {
    if (err instanceof MediaError) return refuse(ctx, portal, ev, err.userMessage);
    throw err;
  }
  await queueForRemote(ctx, portal, ev, { event: { kind: "media", media }, mapAsMessage: true });
}

/**
 * m.sticker: sent as the network's sticker, its file converted by the media port; one that cannot be a sticker goes
 * as an image, and the user reads why rather than wonder why it looks different.
 */
export async function stickerToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  if (!ctx.media) return refuse(ctx, portal, ev, "stickers are not bridged: media is turned off");
  let out: { media: RemoteMedia; asImage?: string };
  try {
    out = await ctx.media.stickerToRemote(portal.matrixUser, ev.content, await quoteOf(ctx, ev));
  } catch (err) {
    if (err instanceof MediaError) return refuse(ctx, portal, ev, err.userMessage);
    throw err;
  }
  if (out.asImage !== undefined) {
    ctx.log.info({ eventId: ev.event_id, reason: out.asImage }, "sticker sent as an image");
    await ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.stickerAsImage(ctx.network, out.asImage), `sticker-${ev.event_id}`);
  }
  await queueForRemote(ctx, portal, ev, { event: { kind: "media", media: out.media, ...(out.asImage === undefined ? { sticker: true } : {}) }, mapAsMessage: true });
}
