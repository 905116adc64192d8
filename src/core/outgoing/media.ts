// Matrix media messages (images, videos, voice and other audio, files), through the network's media port.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent, RemoteMedia } from "../events.js";
import { MediaError } from "../ports.js";
import { relationOf } from "./message.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

export async function mediaToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const replyTo = relationOf(ev.content)["m.in_reply_to"]?.event_id;
  const target = typeof replyTo === "string" ? await ctx.store.messages.byEventId(ev.room_id, replyTo) : undefined;
  let media: RemoteMedia;
  try {
    media = await ctx.media!.toRemote(portal.matrixUser, ev.content, target ? refOf(target) : undefined);
  } catch (err) {
    if (err instanceof MediaError) return refuse(ctx, portal, ev, err.userMessage);
    throw err;
  }
  await queueForRemote(ctx, portal, ev, { event: { kind: "media", media }, mapAsMessage: true });
}
