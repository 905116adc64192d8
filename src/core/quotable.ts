// What a reply to a bridged message quotes. A vote is a message of its own on both sides, but neither shows it as
// one: WhatsApp's apps count it into the poll, Matrix clients hide poll responses from the timeline. A reply to a vote
// would quote something the other side cannot display, so it quotes the vote's poll instead.
import type { MappedMessage } from "../store/message-map.js";
import type { CoreContext } from "./context.js";

export async function quotable(ctx: CoreContext, mapped: MappedMessage): Promise<MappedMessage> {
  const vote = await ctx.store.pollVotes.get(mapped.matrixUser, mapped.remoteUri, mapped.messageId);
  if (!vote) return mapped;
  const poll = await ctx.store.messages.byMessageId(mapped.matrixUser, mapped.remoteUri, vote.pollMessageId);
  return poll && poll.roomId === mapped.roomId ? poll : mapped;
}

/** The mapped message a Matrix reply in `roomId` quotes, if it crossed the bridge. */
export async function quotedByMatrixReply(ctx: CoreContext, roomId: string, eventId: unknown): Promise<MappedMessage | undefined> {
  if (typeof eventId !== "string") return undefined;
  const mapped = await ctx.store.messages.byEventId(roomId, eventId);
  return mapped && quotable(ctx, mapped);
}
