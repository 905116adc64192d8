// What an incoming handler gets: the queued entry, the chat it belongs to, and how to post into its portal.
import type { InboxEntry } from "../../store/inbox.js";
import type { MappedMessage } from "../../store/message-map.js";
import type { CoreContext } from "../context.js";
import { notices } from "../notices.js";
import { quotable } from "../quotable.js";
import type { MatrixContent } from "../ports.js";

export interface IncomingCall {
  ctx: CoreContext;
  entry: InboxEntry;
  contact: string;
  puppet: string;
  /** The portal's room; made before the handler runs for anything that shows in a room. */
  roomId: string;
  /** The entry's transaction ID: the same on every retry, so Matrix keeps one event. */
  txn: string;
}

/** The bridged message behind a network message ID of this chat, if it is in this portal. */
export async function mappedHere(call: IncomingCall, messageId: string): Promise<MappedMessage | undefined> {
  const m = await call.ctx.store.messages.byMessageId(call.entry.matrixUser, call.entry.remoteUri, messageId);
  return m && m.roomId === call.roomId ? m : undefined;
}

/** The bridged message a contact's reply to `messageId` quotes in this portal: a vote's poll (quotable.ts). */
export async function quotedHere(call: IncomingCall, messageId: string): Promise<MappedMessage | undefined> {
  const m = await mappedHere(call, messageId);
  return m && quotable(call.ctx, m);
}

/** Posts a new message as the puppet and maps it for later replies, reactions, edits and receipts. */
export async function postMessage(call: IncomingCall, content: MatrixContent, txn = call.txn, type = "m.room.message"): Promise<string> {
  const { ctx, entry } = call;
  const eventId = await ctx.matrix.sendEvent(call.puppet, call.roomId, type, content, txn);
  await ctx.store.messages.put({ matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, messageId: entry.messageId, roomId: call.roomId, eventId, direction: "in", sender: entry.remoteUri, timestamp: entry.timestamp });
  return eventId;
}

export function cannotShow(call: IncomingCall, what: string): Promise<void> {
  const { ctx } = call;
  return ctx.notice(call.puppet, call.roomId, notices.cannotShow(ctx.label(call.contact), what, ctx.network), `unsup-${call.entry.messageId}`);
}
