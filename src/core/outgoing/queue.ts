// The one way an event leaves for the network: encoded by the network's codec and written to the durable outbox in
// the same transaction as the message map (and any reaction bookkeeping), then the network is woken to deliver it.
import { createHash, randomBytes } from "node:crypto";
import type { MappedMessage } from "../../store/message-map.js";
import type { PortalRow } from "../../store/portals.js";
import { isPermanent, type CoreContext } from "../context.js";
import type { MatrixEvent, MessageRef, OutgoingEvent } from "../events.js";
import { scheduleExpiry } from "../disappearing.js";
import { notices } from "../notices.js";
import { RemoteError } from "../ports.js";

/** The interop message ID of a Matrix event: derived, so reprocessing the event can never mint a second message. */
export function messageIdForEvent(roomId: string, eventId: string): string {
  return createHash("sha256").update(`${roomId}\u0000${eventId}`).digest("hex").slice(0, 32).toUpperCase();
}

/** A fresh message ID for what has no Matrix event behind it (receipts, typing). */
export function newMessageId(): string {
  return randomBytes(16).toString("hex").toUpperCase();
}

export function refOf(m: MappedMessage): MessageRef {
  return { messageId: m.messageId, sender: m.sender, fromMe: m.direction === "out" };
}

/** What an outgoing handler asks for: the event, whether it is a new message to map, and bookkeeping to commit with it. */
export interface Outgoing {
  event: OutgoingEvent;
  /** A new message (not an edit, reaction or delete): mapped to the Matrix event for later replies and receipts. */
  mapAsMessage?: boolean;
  /**
   * A mapped message that does not disappear with the chat's timer: a vote, whose expiry would redact it, which
   * MSC3381 reads as reverting it (WhatsApp's apps do not expire votes either).
   */
  outlivesTimer?: boolean;
  alsoCommit?: () => Promise<void> | void;
}

/** Queues a Matrix event's translation for the network; tells the user when it cannot go. */
export async function queueForRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, out: Outgoing): Promise<void> {
  const { matrixUser, remoteUri } = portal;
  if (!(await identityReady(ctx, portal, ev.room_id, ev.event_id))) return;
  // New messages of a chat with disappearing messages carry its timer, and disappear on Matrix too.
  const disappearingSeconds = out.mapAsMessage && !out.outlivesTimer ? (await ctx.store.disappearing.timer(matrixUser, remoteUri)).seconds : 0;
  const encoded = ctx.remote.codec.encode(out.event, { contact: remoteUri, nowMs: Date.now(), ...(disappearingSeconds > 0 ? { disappearingSeconds } : {}) });
  if (!encoded.ok) return refuse(ctx, portal, ev, encoded.reason);
  const messageId = messageIdForEvent(ev.room_id, ev.event_id);
  await ctx.store.transaction(async () => {
    await ctx.store.outbox.add({ matrixUser, remoteUri, messageId, roomId: ev.room_id, eventId: ev.event_id, content: encoded.bytes });
    await out.alsoCommit?.();
    // Writing to someone makes them a contact (bridge reachability "contacts").
    await ctx.store.contacts.add(matrixUser, remoteUri, "wrote");
    if (out.mapAsMessage) {
      await ctx.store.messages.put({
        matrixUser,
        remoteUri,
        messageId,
        roomId: ev.room_id,
        eventId: ev.event_id,
        direction: "out",
        sender: ctx.remote.ids.localUser(matrixUser),
        timestamp: ev.origin_server_ts ?? Date.now(),
      });
      if (disappearingSeconds > 0) {
        // The contact's puppet may redact in the portal (it has the room's top power level).
        await scheduleExpiry(ctx, { roomId: ev.room_id, eventId: ev.event_id, redactAs: ctx.puppetOf(remoteUri), expiresAt: (ev.origin_server_ts ?? Date.now()) + disappearingSeconds * 1000 });
      }
    }
  });
  ctx.remote.wake();
}

/** Receipts and chat state: queued like messages, but no notice if they fail (there is nothing to retry by hand). */
export async function queueSignal(ctx: CoreContext, portal: PortalRow, event: OutgoingEvent): Promise<void> {
  const encoded = ctx.remote.codec.encode(event, { contact: portal.remoteUri, nowMs: Date.now() });
  if (!encoded.ok) {
    ctx.log.warn({ kind: event.kind, reason: encoded.reason }, "the network's codec refused a receipt or typing state");
    return;
  }
  await ctx.store.outbox.add({ matrixUser: portal.matrixUser, remoteUri: portal.remoteUri, messageId: newMessageId(), content: encoded.bytes });
  ctx.remote.wake();
}

/** The event cannot be sent: the user hears why, from the contact's puppet. */
export function refuse(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, reason: string): Promise<void> {
  return ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.notDeliveredBecause(reason), `unsup-${ev.event_id}`);
}

/** The Matrix user's network identity must exist before anything is encrypted for them. */
async function identityReady(ctx: CoreContext, portal: PortalRow, roomId: string, eventId: string): Promise<boolean> {
  try {
    await ctx.remote.ensureIdentity(portal.matrixUser);
    return true;
  } catch (err) {
    if (err instanceof RemoteError && isPermanent(err.reason)) {
      await ctx.noticeAsPuppet(portal.remoteUri, roomId, notices.notDelivered(ctx.explain(err, portal.remoteUri)), `fail-${eventId}`);
      return false;
    }
    throw err; // transient: the inbound queue retries with backoff
  }
}
