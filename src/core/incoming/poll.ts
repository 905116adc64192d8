// A contact's poll: an MSC3381 poll start (the unstable event type clients implement), with a text fallback for
// clients that show no polls, kept in the store with its secret so votes map both ways. A contact's vote becomes an
// MSC3381 response of their puppet, referencing the start, mapped like a message (receipts, reactions and replies
// find it); a vote that cannot be read is a notice, never a guess.
import type { RemoteEvent } from "../events.js";
import { notices } from "../notices.js";
import { mappedHere, postMessage, type IncomingCall } from "./call.js";

export const POLL_START = "org.matrix.msc3381.poll.start";
export const POLL_RESPONSE = "org.matrix.msc3381.poll.response";
export const POLL_START_STABLE = "m.poll.start";
export const POLL_RESPONSE_STABLE = "m.poll.response";

export async function pollToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "poll" }>): Promise<void> {
  const text = [`📊 ${ev.question}`, ...ev.options.map((o, i) => `${i + 1}. ${o}`)].join("\n");
  const max = ev.maxSelections > 0 ? Math.min(ev.maxSelections, ev.options.length) : ev.options.length;
  const answerIds = ev.options.map((_, i) => String(i + 1));
  await postMessage(
    call,
    {
      [POLL_START]: {
        question: { "org.matrix.msc1767.text": ev.question, body: ev.question },
        kind: "org.matrix.msc3381.poll.disclosed",
        max_selections: max,
        answers: ev.options.map((o, i) => ({ id: answerIds[i], "org.matrix.msc1767.text": o })),
      },
      "org.matrix.msc1767.text": text,
      body: text,
    },
    call.txn,
    POLL_START,
  );
  const { ctx, entry } = call;
  if (!ev.secret) ctx.log.warn({ messageId: entry.messageId }, "a contact's poll carries no message secret: its votes will not be readable");
  await ctx.store.polls.put({
    matrixUser: entry.matrixUser,
    remoteUri: entry.remoteUri,
    messageId: entry.messageId,
    creator: call.contact,
    secret: ev.secret ?? new Uint8Array(0),
    question: ev.question,
    options: ev.options,
    answerIds,
    maxSelections: ev.maxSelections,
    matrixFlavour: "unstable",
  });
}

export async function pollVoteToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "poll_vote" }>): Promise<void> {
  const { ctx, entry } = call;
  const unreadable = (why: string, log: string, extra: Record<string, unknown> = {}) => {
    ctx.log.warn({ messageId: entry.messageId, pollId: ev.pollId, ...extra }, log);
    return ctx.notice(call.puppet, call.roomId, notices.voteUnreadable(ctx.label(call.contact), why, ctx.network), `vote-${entry.messageId}`);
  };
  const start = await mappedHere(call, ev.pollId);
  const poll = await ctx.store.polls.get(entry.matrixUser, entry.remoteUri, ev.pollId);
  if (!start || !poll) return unreadable("the poll it is for is not in this room", "a contact voted in a poll the bridge does not know");
  if (!ctx.remote.codec.openVote) return unreadable("this bridge cannot read votes", "the network's codec opens no votes");
  const opened = ctx.remote.codec.openVote(ev.vote, { pollMessageId: poll.messageId, creator: poll.creator, secret: poll.secret, options: poll.options }, call.contact);
  if (!opened.ok) return unreadable("it could not be decrypted", "a contact's vote could not be opened", { reason: opened.reason });
  if (opened.unknown > 0) {
    await unreadable("it chose an option the poll does not have", "a contact's vote names options the poll does not have", { unknown: opened.unknown });
    // Posting only the choices that are known would show a vote the contact never cast.
    return;
  }
  const answers = opened.selected.map((i) => poll.answerIds[i]!);
  const stable = poll.matrixFlavour === "stable";
  const relation = { "m.relates_to": { rel_type: "m.reference", event_id: start.eventId } };
  // A vote of nothing (the contact took the vote back) is a response with no answers, as MSC3381 says to unvote.
  // Redacting the puppet's earlier response instead would not do: clients then count the response before it, so a
  // contact who voted twice would still be shown voting.
  const content = stable ? { "m.selections": answers, ...relation } : { [POLL_RESPONSE]: { answers }, ...relation };
  await postMessage(call, content, call.txn, stable ? POLL_RESPONSE_STABLE : POLL_RESPONSE);
  await ctx.store.pollVotes.put({ matrixUser: entry.matrixUser, remoteUri: entry.remoteUri, messageId: entry.messageId, pollMessageId: poll.messageId, voter: call.contact, selected: opened.selected, timestamp: entry.timestamp });
}
