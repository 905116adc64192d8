// Network -> Matrix: one handler per kind of event a contact sends. Receipts, typing, deletes and reactions only
// touch an existing portal; everything else opens one if the chat has none yet.
import type { InboxEntry } from "../../store/inbox.js";
import type { CoreContext } from "../context.js";
import type { RemoteEvent, RemoteEventKind } from "../events.js";
import { notices } from "../notices.js";
import { ensurePortal } from "../portals.js";
import { announceIdentityNews } from "../safety.js";
import { holdAsRequest, shouldHold } from "../requests.js";
import { cannotShow, type IncomingCall } from "./call.js";
import { contactToMatrix } from "./contact.js";
import { deleteToMatrix } from "./delete.js";
import { locationToMatrix } from "./location.js";
import { pinToMatrix } from "./pin.js";
import { pollToMatrix, pollVoteToMatrix } from "./poll.js";
import { afterDisappearingMessage, disappearingTimerToMatrix } from "./disappearing.js";
import { editToMatrix } from "./edit.js";
import { mediaToMatrix } from "./media.js";
import { messageToMatrix } from "./message.js";
import { reactionToMatrix } from "./reaction.js";
import { receiptToMatrix } from "./receipt.js";
import { typingToMatrix } from "./typing.js";

type Handlers = { [K in RemoteEventKind]: (call: IncomingCall, ev: Extract<RemoteEvent, { kind: K }>) => Promise<void> };

const HANDLERS: Handlers = {
  message: messageToMatrix,
  media: mediaToMatrix,
  edit: editToMatrix,
  delete: deleteToMatrix,
  reaction: reactionToMatrix,
  receipt: receiptToMatrix,
  typing: typingToMatrix,
  disappearing_timer: disappearingTimerToMatrix,
  location: locationToMatrix,
  contact: contactToMatrix,
  poll: pollToMatrix,
  poll_vote: pollVoteToMatrix,
  pin: pinToMatrix,
  unsupported: (call, ev) => cannotShow(call, ev.what),
};

/**
 * Kinds that never open a portal: there is nothing to mark, redact or react to in a chat that has no room (messages
 * of an earlier room are not this portal's), and a new room would be an empty invite.
 */
const NEEDS_EXISTING_PORTAL: ReadonlySet<RemoteEventKind> = new Set(["receipt", "typing", "delete", "reaction", "disappearing_timer", "pin", "poll_vote"]);

/** Posts one inbox entry to Matrix. Throwing leaves it queued for a retry. */
export async function handleRemoteEntry(ctx: CoreContext, entry: InboxEntry): Promise<void> {
  if (!ctx.allowed(entry.matrixUser)) {
    // Queued before the user's permission was removed; new envelopes for them are refused at the gatekeeper.
    ctx.log.warn({ user: entry.matrixUser, messageId: entry.messageId }, "not posting a queued remote message: its recipient may no longer use the bridge");
    return;
  }
  const contact = entry.remoteUri;
  // The network refuses a blocked contact's new messages; this catches those queued before the block.
  if (await ctx.remote.safety?.isBlocked(entry.matrixUser, contact)) {
    ctx.log.debug({ messageId: entry.messageId }, "dropping content from a contact the user blocked");
    return;
  }
  if (!ctx.remote.ids.isContact(contact)) {
    ctx.log.warn({ messageId: entry.messageId }, "dropping content from a sender that is not one of the network's users");
    return;
  }
  const ev = ctx.remote.codec.decode(entry.content);
  if (ev.kind === "unsupported" && ev.detail) ctx.log.warn({ messageId: entry.messageId, reason: ev.detail }, "could not decode a remote message");
  if (ev.dropped) ctx.log.warn({ messageId: entry.messageId, dropped: ev.dropped }, "parts of a remote message could not be used and were left out");
  const puppet = ctx.puppetOf(contact);
  let roomId: string;
  if (NEEDS_EXISTING_PORTAL.has(ev.kind)) {
    const existing = (await ctx.store.portals.get(entry.matrixUser, contact))?.roomId;
    if (!existing) return;
    roomId = existing;
  } else {
    // A number the user never chatted with waits as a message request (requests.ts) instead of opening a portal.
    if (await shouldHold(ctx, entry)) return holdAsRequest(ctx, entry, ev);
    // A first message from a contact: look them up so the new puppet gets the contact's name and picture.
    const known = (await ctx.store.portals.get(entry.matrixUser, contact))?.roomId;
    const profile = known ? undefined : await ctx.remote.lookup(entry.matrixUser, contact).catch(() => undefined);
    roomId = await ensurePortal(ctx, entry.matrixUser, contact, profile);
  }
  // Whatever the entry carries, the first one after a change of the contact's keys is where the user hears of it
  // (once, even if a send saw the change first). A network without RemoteSafety only flags the entry.
  if (ctx.remote.safety) await announceIdentityNews(ctx, entry.matrixUser, contact, roomId);
  else if (entry.identityChanged) await ctx.notice(puppet, roomId, notices.identityChanged(ctx.label(contact), ctx.network), `idc-${entry.messageId}`);
  const call: IncomingCall = { ctx, entry, contact, puppet, roomId, txn: `in-${entry.messageId}` };
  await (HANDLERS[ev.kind] as (call: IncomingCall, ev: RemoteEvent) => Promise<void>)(call, ev);
  if (ev.expiresInSeconds) await afterDisappearingMessage(call, ev.expiresInSeconds);
}
