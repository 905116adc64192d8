// Matrix reactions on bridged messages; the network keeps one reaction per person per message.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

export async function reactionToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const rel = (ev.content["m.relates_to"] ?? {}) as { rel_type?: unknown; event_id?: unknown; key?: unknown };
  if (rel.rel_type !== "m.annotation" || typeof rel.event_id !== "string" || typeof rel.key !== "string") {
    return refuse(ctx, portal, ev, "the reaction is malformed");
  }
  const target = await ctx.store.messages.byEventId(ev.room_id, rel.event_id);
  if (!target) return refuse(ctx, portal, ev, "the message you reacted to was never bridged");
  const { matrixUser, remoteUri } = portal;
  // A vote is no message in WhatsApp's apps (it only counts into the poll): a reaction to it would never be seen.
  if (await ctx.store.pollVotes.get(matrixUser, remoteUri, target.messageId)) return refuse(ctx, portal, ev, `${ctx.network} shows votes only in the poll's count, so a reaction to a vote cannot be shown there`);
  const row = { matrixUser, remoteUri, targetMessageId: target.messageId, reactor: ctx.remote.ids.localUser(matrixUser), emoji: rel.key, roomId: ev.room_id, eventId: ev.event_id };
  await queueForRemote(ctx, portal, ev, { event: { kind: "reaction", target: refOf(target), emoji: rel.key }, alsoCommit: () => ctx.store.reactions.put(row) });
}
