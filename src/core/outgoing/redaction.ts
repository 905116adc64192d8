// Matrix redactions: of the user's own reaction (taken back on the network), of the user's own message (deleted for
// everyone), of the user's own vote (the vote that stands after it is sent: poll.ts). Redacting what the contact sent
// only hides it in Matrix.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { voteRedactionToRemote } from "./poll.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

export async function redactionToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const redacts = typeof ev.redacts === "string" ? ev.redacts : typeof ev.content.redacts === "string" ? ev.content.redacts : undefined;
  if (!redacts) return;
  const { matrixUser, remoteUri } = portal;
  const reaction = await ctx.store.reactions.byEvent(ev.room_id, redacts);
  if (reaction && reaction.reactor !== ctx.remote.ids.localUser(matrixUser)) {
    // The user removed the contact's reaction from the room: that hides it here, it is not theirs to take back.
    await ctx.store.reactions.remove(matrixUser, remoteUri, reaction.targetMessageId, reaction.reactor);
    ctx.log.info({ room: ev.room_id }, "the user redacted the contact's reaction; nothing is sent");
    return;
  }
  if (reaction) {
    const target = await ctx.store.messages.byMessageId(matrixUser, remoteUri, reaction.targetMessageId);
    const ref = target ? refOf(target) : { messageId: reaction.targetMessageId, sender: remoteUri, fromMe: false };
    await queueForRemote(ctx, portal, ev, {
      event: { kind: "reaction", target: ref, emoji: "" },
      alsoCommit: () => ctx.store.reactions.remove(matrixUser, remoteUri, reaction.targetMessageId, reaction.reactor),
    });
    return;
  }
  const target = await ctx.store.messages.byEventId(ev.room_id, redacts);
  if (!target) return; // a redaction of something that never crossed the bridge (a notice, a state event)
  const vote = await ctx.store.pollVotes.get(matrixUser, remoteUri, target.messageId);
  if (vote) return voteRedactionToRemote(ctx, portal, ev, vote);
  if (target.direction !== "out") return refuse(ctx, portal, ev, "only your own messages can be deleted for everyone");
  await queueForRemote(ctx, portal, ev, { event: { kind: "delete", target: refOf(target) } });
}
