// A contact reacts: the network keeps one reaction per person per message, so a new one replaces the old
// (redacted) and an empty one removes it.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { mappedHere, type IncomingCall } from "./call.js";

export async function reactionToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "reaction" }>): Promise<void> {
  const { ctx, entry } = call;
  const target = await mappedHere(call, ev.targetId);
  if (!target) {
    ctx.log.info({ messageId: ev.targetId }, "a reaction to a message that was never bridged; ignored");
    return;
  }
  const previous = await ctx.store.reactions.get(entry.matrixUser, entry.remoteUri, ev.targetId, entry.remoteUri);
  if (previous) await ctx.matrix.redact(call.puppet, call.roomId, previous.eventId, `unreact-${entry.messageId}`, notices.reactionChangedReason);
  if (ev.emoji === "") {
    await ctx.store.reactions.remove(entry.matrixUser, entry.remoteUri, ev.targetId, entry.remoteUri);
    return;
  }
  const eventId = await ctx.matrix.sendEvent(call.puppet, call.roomId, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: target.eventId, key: ev.emoji } }, call.txn);
  await ctx.store.reactions.put({ matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, targetMessageId: ev.targetId, reactor: entry.remoteUri, emoji: ev.emoji, roomId: call.roomId, eventId });
}
