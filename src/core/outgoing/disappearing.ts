// The Matrix user sets the chat's disappearing-messages timer: by the portal command ("!wa disappearing 7d") or by
// setting the room's `com.beeper.disappearing_timer` state themselves (as Beeper's clients do). Either way the
// contact gets WhatsApp's timer change, and the room's state and a notice say what holds now.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import { applyTimer, describeTimer, OFFERED_TIMERS, secondsOfTimerState } from "../disappearing.js";
import type { MatrixEvent } from "../events.js";
import { queueForRemote, refuse } from "./queue.js";

/** The timer a user typed ("7d", "24 hours", "off"); undefined when it is none WhatsApp offers. */
export function parseTimer(text: string): number | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, " ");
  return OFFERED_TIMERS.find((o) => o.words.includes(t))?.seconds;
}

export const TIMER_CHOICES = "off, 24h, 7d or 90d";

/** `!wa disappearing <timer>` in a portal. */
export async function setTimerByCommand(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, args: string, reply: (text: string) => Promise<void>): Promise<void> {
  const seconds = parseTimer(args);
  if (seconds === undefined) return reply(`⏱ "${args.trim() || "(nothing)"}" is not a timer ${ctx.network} offers. Use one of: ${TIMER_CHOICES}, e.g. "${ctx.remote.phrases.commandPrefix} disappearing 7d".`);
  const changed = await setTimerFromMatrix(ctx, portal, ev, seconds, true);
  if (!changed) await reply(`⏱ Disappearing messages are already ${seconds === 0 ? "off" : `set to ${describeTimer(seconds)}`}.`);
}

/** The user set `com.beeper.disappearing_timer` in the portal. */
export async function timerStateToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const seconds = secondsOfTimerState(ev.content);
  if (seconds === undefined) return refuse(ctx, portal, ev, "the disappearing-messages setting is not one the bridge can read");
  await setTimerFromMatrix(ctx, portal, ev, seconds, false);
}

async function setTimerFromMatrix(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, seconds: number, setState: boolean): Promise<boolean> {
  const changed = await applyTimer(ctx, { matrixUser: portal.matrixUser, remoteUri: portal.remoteUri, roomId: ev.room_id, seconds, setAt: ev.origin_server_ts ?? Date.now(), setState, txn: `timer-${ev.event_id}` });
  if (changed) await queueForRemote(ctx, portal, ev, { event: { kind: "disappearing_timer", seconds } });
  return changed;
}
