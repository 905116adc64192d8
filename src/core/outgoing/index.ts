// Matrix -> network: one handler per kind of event the user sends in a portal.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { BEACON_INFO_TYPES, BEACON_TYPES, beaconInfoToRemote, beaconToRemote } from "./beacon.js";
import { locationToRemote } from "./kinds.js";
import { pollEndToRemote, pollResponseToRemote, pollToRemote } from "./poll.js";
import { mediaToRemote, stickerToRemote } from "./media.js";
import { textToRemote } from "./message.js";
import { messageIdForEvent } from "./queue.js";
import { reactionToRemote } from "./reaction.js";
import { redactionToRemote } from "./redaction.js";

export { receiptToRemote, typingToRemote } from "./ephemeral.js";
export { messageIdForEvent } from "./queue.js";

type Handler = (ctx: CoreContext, portal: PortalRow, ev: MatrixEvent) => Promise<void>;

const HANDLERS: Readonly<Record<string, Handler>> = {
  "m.room.message": (ctx, portal, ev) =>
    ev.content.msgtype === "m.location" ? locationToRemote(ctx, portal, ev) : ctx.media?.handles(String(ev.content.msgtype)) ? mediaToRemote(ctx, portal, ev) : textToRemote(ctx, portal, ev),
  "m.sticker": stickerToRemote,
  "org.matrix.msc3381.poll.start": pollToRemote,
  "m.poll.start": pollToRemote,
  "org.matrix.msc3381.poll.response": pollResponseToRemote,
  "m.poll.response": pollResponseToRemote,
  "org.matrix.msc3381.poll.end": pollEndToRemote,
  "m.poll.end": pollEndToRemote,
  "m.reaction": reactionToRemote,
  "m.room.redaction": redactionToRemote,
  ...Object.fromEntries(BEACON_INFO_TYPES.map((t) => [t, beaconInfoToRemote])),
  ...Object.fromEntries(BEACON_TYPES.map((t) => [t, beaconToRemote])),
};

/** Whether the event type is one the user's portal messages are bridged as. */
export function isBridgedType(type: string): boolean {
  return Object.hasOwn(HANDLERS, type);
}

export async function sendToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const handler = Object.hasOwn(HANDLERS, ev.type) ? HANDLERS[ev.type] : undefined;
  if (!handler) return;
  // A redelivered event (homeserver retry, or our crash before the queue entry was cleared) is queued once only.
  const messageId = messageIdForEvent(ev.room_id, ev.event_id);
  if (await ctx.store.outbox.hasMessage(portal.matrixUser, portal.remoteUri, messageId) || await ctx.store.messages.byEventId(ev.room_id, ev.event_id)) return;
  await handler(ctx, portal, ev);
}
