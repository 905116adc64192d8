// Matrix media messages (images, videos, voice and other audio, files), through the network's media port.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent, RemoteMedia } from "../events.js";
import { MediaError } from "../ports.js";
import { quotedByMatrixReply } from "../quotable.js";
import { relationOf } from "./message.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

export async function mediaToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, sticker = false): Promise<void> {
  const target = await quotedByMatrixReply(ctx, ev.room_id, relationOf(ev.content)["m.in_reply_to"]?.event_id);
  let media: RemoteMedia;
  try {
    // A sticker is an image to the media port (m.sticker has the image's url/file and info but no msgtype).
    const content = sticker ? { ...ev.content, msgtype: "m.image" } : ev.content;
    media = await ctx.media!.toRemote(portal.matrixUser, content, target ? refOf(target) : undefined);
  } catch (err) {
    if (err instanceof MediaError) return refuse(ctx, portal, ev, err.userMessage);
    throw err;
  }
  await queueForRemote(ctx, portal, ev, { event: { kind: "media", media, ...(sticker ? { sticker } : {}) }, mapAsMessage: true });
}

/** m.sticker: sent as the network's sticker where it has one (the codec decides), else as an image. */
export function stickerToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  if (!ctx.media) return refuse(ctx, portal, ev, "stickers are not bridged: media is turned off");
  return mediaToRemote(ctx, portal, ev, true);
}
