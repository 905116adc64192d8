// A contact pins or unpins a message of the chat: the portal's m.room.pinned_events follows.
import type { RemoteEvent } from "../events.js";
import { mappedHere, type IncomingCall } from "./call.js";

export const PINNED_EVENTS = "m.room.pinned_events";

export async function pinToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "pin" }>): Promise<void> {
  const { ctx } = call;
  const target = await mappedHere(call, ev.targetId);
  if (!target) {
    ctx.log.info({ messageId: ev.targetId }, "a pin of a message that was never bridged; ignored");
    return;
  }
  const current = await ctx.matrix.roomState(call.puppet, call.roomId, PINNED_EVENTS);
  const pinned = Array.isArray(current?.pinned) ? current.pinned.filter((e): e is string => typeof e === "string") : [];
  const next = ev.pinned ? (pinned.includes(target.eventId) ? pinned : [...pinned, target.eventId]) : pinned.filter((e) => e !== target.eventId);
  if (next.length === pinned.length && next.every((e, i) => e === pinned[i])) return;
  await ctx.matrix.sendState(call.puppet, call.roomId, PINNED_EVENTS, "", { pinned: next });
}
