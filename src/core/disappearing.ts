// Disappearing messages on the Matrix side: the portal's timer is the room state mautrix bridges and Beeper's
// clients use (`com.beeper.disappearing_timer`, {type: "after_send", timer: ms}; `{}` when off), and every message
// sent while it is on is redacted by the bridge when its time is up, as WhatsApp deletes it on the phones.
import { createHash } from "node:crypto";
import type { CoreContext } from "./context.js";

export const DISAPPEARING_TIMER_STATE = "com.beeper.disappearing_timer";

/** The timers WhatsApp's apps offer; the command accepts these (a contact's gatekeeper may use any). */
export const OFFERED_TIMERS: readonly { words: readonly string[]; seconds: number }[] = [
  { words: ["off", "0"], seconds: 0 },
  { words: ["24h", "1d", "24 hours", "1 day"], seconds: 24 * 3600 },
  { words: ["7d", "1w", "7 days", "1 week"], seconds: 7 * 24 * 3600 },
  { words: ["90d", "90 days"], seconds: 90 * 24 * 3600 },
];

export function timerState(seconds: number): Record<string, unknown> {
  return seconds > 0 ? { type: "after_send", timer: seconds * 1000 } : {};
}

/** The timer a `com.beeper.disappearing_timer` content sets, in whole seconds; undefined if it is not one. */
export function secondsOfTimerState(content: Record<string, unknown>): number | undefined {
  if (Object.keys(content).length === 0 || content.type === "" || content.type === undefined) return 0;
  // after_read cannot be expressed to WhatsApp, whose timers run from sending; it is taken as after_send.
  if ((content.type !== "after_send" && content.type !== "after_read") || typeof content.timer !== "number") return undefined;
  if (!Number.isFinite(content.timer) || content.timer < 0) return undefined;
  return Math.round(content.timer / 1000);
}

/** "7 days", "24 hours", "5 minutes", "30 seconds". */
export function describeTimer(seconds: number): string {
  const units: [number, string][] = [
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

export interface TimerChange {
  matrixUser: string;
  remoteUri: string;
  roomId: string;
  seconds: number;
  /** When the change was made (ms): an older change than the stored one is ignored. */
  setAt: number;
  /** Who changed it, for the notice: the contact's name, or undefined for the Matrix user. */
  byContact?: string;
  /** Whether the room state must be set (not when the Matrix user's own state event is the change). */
  setState: boolean;
  /** Makes the notice idempotent. */
  txn: string;
}

/** Records a timer change, mirrors it in the room state and says so in the room. Returns whether anything changed. */
export async function applyTimer(ctx: CoreContext, c: TimerChange): Promise<boolean> {
  const current = await ctx.store.disappearing.timer(c.matrixUser, c.remoteUri);
  if (current.seconds === c.seconds || c.setAt < current.setAt) return false;
  await ctx.store.disappearing.setTimer(c.matrixUser, c.remoteUri, { seconds: c.seconds, setAt: c.setAt });
  const puppet = ctx.puppetOf(c.remoteUri);
  if (c.setState) await ctx.matrix.sendState(puppet, c.roomId, DISAPPEARING_TIMER_STATE, "", timerState(c.seconds));
  await ctx.notice(puppet, c.roomId, timerNotice(c.byContact, c.seconds), c.txn);
  return true;
}

function timerNotice(byContact: string | undefined, seconds: number): string {
  const who = byContact ?? "You";
  if (seconds === 0) return `⏱ ${who} turned off disappearing messages.`;
  return `⏱ ${who} turned on disappearing messages: new messages disappear ${describeTimer(seconds)} after they are sent.`;
}

/** Schedules the redaction of a bridged event at `expiresAt` (durably) and wakes the sweeper. */
export async function scheduleExpiry(ctx: CoreContext, e: { roomId: string; eventId: string; redactAs: string; expiresAt: number }): Promise<void> {
  await ctx.store.disappearing.schedule(e);
  ctx.expiryScheduled(e.expiresAt);
}

/** A redaction's transaction ID, derived from the event so a retry never redacts twice. */
export function expiryTxn(eventId: string): string {
  return `exp-${createHash("sha256").update(eventId).digest("hex").slice(0, 24)}`;
}
