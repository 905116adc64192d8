// Disappearing messages from the network: a contact's timer change becomes the portal's timer state and a notice;
// a message of a disappearing chat is scheduled for redaction when its time is up (and keeps the timer in step,
// as WhatsApp's clients do when a message carries a timer different from the one they know).
import { applyTimer, scheduleExpiry } from "../disappearing.js";
import type { RemoteEvent } from "../events.js";
import type { IncomingCall } from "./call.js";

export async function disappearingTimerToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "disappearing_timer" }>): Promise<void> {
  const { ctx, entry } = call;
  await applyTimer(ctx, { matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, roomId: call.roomId, seconds: ev.seconds, setAt: entry.timestamp, byContact: ctx.label(call.contact), setState: true, txn: `timer-${entry.messageId}` });
}

/** After a message of a disappearing chat was posted: its redaction is scheduled, the timer synced. */
export async function afterDisappearingMessage(call: IncomingCall, expiresInSeconds: number): Promise<void> {
  const { ctx, entry } = call;
  await applyTimer(ctx, { matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, roomId: call.roomId, seconds: expiresInSeconds, setAt: entry.timestamp, byContact: ctx.label(call.contact), setState: true, txn: `timer-${entry.messageId}` });
  const posted = await ctx.store.messages.byMessageId(entry.matrixUser, entry.remoteUri, entry.messageId);
  if (!posted || posted.roomId !== call.roomId) return; // nothing was posted (a notice instead): nothing to redact
  await scheduleExpiry(ctx, { roomId: call.roomId, eventId: posted.eventId, redactAs: call.puppet, expiresAt: entry.timestamp + expiresInSeconds * 1000 });
}
