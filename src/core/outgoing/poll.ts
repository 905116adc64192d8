// Matrix polls -> the network (MSC3381, stable m.poll.* and unstable org.matrix.msc3381.*). A poll start becomes the
// network's poll, with a fresh secret the store keeps; a response becomes the user's sealed vote (answer IDs mapped
// to the poll's options), mapped like a message so receipts, reactions and redactions find it; redacting a response
// sends the vote that stands after it (the one before, or a vote of nothing that takes it back); a poll end, which WhatsApp has no message for, becomes a text reply to the poll saying it
// closed, so the contact knows later votes no longer count on Matrix.
import type { MappedMessage } from "../../store/message-map.js";
import type { PollRow } from "../../store/polls.js";
import type { StoredPollVote } from "../../store/poll-votes.js";
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent, OutgoingEvent } from "../events.js";
import { notices } from "../notices.js";
import { messageIdForEvent, queueForRemote, refOf, refuse } from "./queue.js";

/** WhatsApp's apps offer at most 12 options. */
export const MAX_OPTIONS = 12;

interface ParsedPoll {
  question: string;
  answers: { id: string; text: string }[];
  maxSelections: number;
  disclosed: boolean;
  flavour: "stable" | "unstable";
}

/** Text of an extensible-events text block: the unstable string form, or the stable array of representations. */
function textOf(block: unknown): string | undefined {
  if (!block || typeof block !== "object") return undefined;
  const b = block as Record<string, unknown>;
  const unstable = b["org.matrix.msc1767.text"] ?? b.body;
  if (typeof unstable === "string" && unstable.trim()) return unstable.trim();
  const stable = b["m.text"];
  if (Array.isArray(stable)) {
    const plain = stable.find((r) => r && typeof r === "object" && typeof (r as { body?: unknown }).body === "string" && !(r as { mimetype?: unknown }).mimetype) ?? stable[0];
    const body = (plain as { body?: unknown } | undefined)?.body;
    if (typeof body === "string" && body.trim()) return body.trim();
  }
  return undefined;
}

export function parsePollStart(content: Record<string, unknown>): ParsedPoll | string {
  const stable = content["m.poll"];
  const unstable = content["org.matrix.msc3381.poll.start"];
  const poll = (stable ?? unstable) as Record<string, unknown> | undefined;
  if (!poll || typeof poll !== "object") return "the poll has no question and answers the bridge can read";
  const question = textOf(poll.question);
  if (!question) return "the poll has no question";
  const raw = Array.isArray(poll.answers) ? poll.answers : [];
  const answers: { id: string; text: string }[] = [];
  for (const a of raw) {
    const id = (a as Record<string, unknown> | null)?.[stable ? "m.id" : "id"];
    const text = textOf(a);
    if (typeof id !== "string" || !id || !text) return "one of the poll's answers has no ID or text";
    answers.push({ id, text });
  }
  if (answers.length < 1) return "the poll has no answers";
  if (answers.length > MAX_OPTIONS) return `the poll has ${answers.length} answers, and WhatsApp polls have at most ${MAX_OPTIONS}`;
  if (new Set(answers.map((a) => a.text)).size !== answers.length) return "two answers have the same text, which votes on WhatsApp cannot tell apart";
  if (new Set(answers.map((a) => a.id)).size !== answers.length) return "two answers have the same ID";
  const max = typeof poll.max_selections === "number" && Number.isInteger(poll.max_selections) && poll.max_selections >= 1 ? Math.min(poll.max_selections, answers.length) : 1;
  const kind = poll.kind;
  const disclosed = !(kind === "m.undisclosed" || kind === "org.matrix.msc3381.poll.undisclosed");
  return { question, answers, maxSelections: max, disclosed, flavour: stable ? "stable" : "unstable" };
}

export async function pollToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const parsed = parsePollStart(ev.content);
  if (typeof parsed === "string") return refuse(ctx, portal, ev, parsed);
  if (!ctx.remote.codec.newPollSecret) return refuse(ctx, portal, ev, `polls are not bridged to ${ctx.network}`);
  const secret = ctx.remote.codec.newPollSecret();
  const options = parsed.answers.map((a) => a.text);
  // WhatsApp's "any number" is 0; a limit of all options is the same poll.
  const maxSelections = parsed.maxSelections >= options.length && options.length > 1 ? 0 : parsed.maxSelections;
  const messageIdFor = messageIdForEvent(ev.room_id, ev.event_id);
  await queueForRemote(ctx, portal, ev, {
    event: { kind: "poll", question: parsed.question, options, maxSelections, secret },
    mapAsMessage: true,
    alsoCommit: () =>
      ctx.store.polls.put({
        matrixUser: portal.matrixUser,
        remoteUri: portal.remoteUri,
        messageId: messageIdFor,
        creator: ctx.remote.ids.localUser(portal.matrixUser),
        secret,
        question: parsed.question,
        options,
        answerIds: parsed.answers.map((a) => a.id),
        maxSelections,
        matrixFlavour: parsed.flavour,
      }),
  });
  if (!parsed.disclosed) await ctx.noticeAsPuppet(portal.remoteUri, ev.room_id, notices.undisclosedPoll(ctx.network), `undisclosed-${ev.event_id}`);
}

function referencedPoll(ev: MatrixEvent): string | undefined {
  const rel = ev.content["m.relates_to"] as { rel_type?: unknown; event_id?: unknown } | undefined;
  return rel?.rel_type === "m.reference" && typeof rel.event_id === "string" ? rel.event_id : undefined;
}

async function pollOf(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent) {
  const startId = referencedPoll(ev);
  const start = startId ? await ctx.store.messages.byEventId(ev.room_id, startId) : undefined;
  const poll = start ? await ctx.store.polls.get(portal.matrixUser, portal.remoteUri, start.messageId) : undefined;
  return start && poll ? { start, poll } : undefined;
}

export async function pollResponseToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const found = await pollOf(ctx, portal, ev);
  if (!found) {
    ctx.log.warn({ eventId: ev.event_id }, "a Matrix poll response refers to no poll the bridge knows");
    return refuse(ctx, portal, ev, "the vote is for a poll that was not bridged");
  }
  const { start, poll } = found;
  if (poll.secret.length === 0) return refuse(ctx, portal, ev, "the poll came without the key its votes need");
  const c = ev.content;
  const picked = Array.isArray(c["m.selections"]) ? c["m.selections"] : (c["org.matrix.msc3381.poll.response"] as { answers?: unknown } | undefined)?.answers;
  if (!Array.isArray(picked)) return refuse(ctx, portal, ev, "the vote names no answers");
  const selected: number[] = [];
  for (const id of picked) {
    const i = typeof id === "string" ? poll.answerIds.indexOf(id) : -1;
    if (i < 0) return refuse(ctx, portal, ev, "the vote names an answer the poll does not have");
    if (!selected.includes(i)) selected.push(i);
  }
  // MSC3381: choices beyond the poll's limit are dropped from the end.
  // An empty list is MSC3381's way to take a vote back, and a vote of nothing is WhatsApp's (spec §10.1.3).
  const kept = poll.maxSelections > 0 ? selected.slice(0, poll.maxSelections) : selected;
  const voter = ctx.remote.ids.localUser(portal.matrixUser);
  const vote = { matrixUser: portal.matrixUser, remoteUri: portal.remoteUri, messageId: messageIdForEvent(ev.room_id, ev.event_id), pollMessageId: poll.messageId, voter, selected: kept, timestamp: ev.origin_server_ts ?? Date.now() };
  await queueForRemote(ctx, portal, ev, { event: voteEvent(poll, start, voter, kept), mapAsMessage: true, outlivesTimer: true, alsoCommit: () => ctx.store.pollVotes.put(vote) });
}

function voteEvent(poll: PollRow, start: MappedMessage, voter: string, selected: number[]): OutgoingEvent {
  return { kind: "poll_vote", poll: { pollMessageId: poll.messageId, creator: poll.creator, secret: poll.secret, options: poll.options, ref: refOf(start) }, voter, selected };
}

/**
 * The user redacted a vote. MSC3381 clients then count the voter's newest response that is not redacted (the vote
 * reverts; it is not spoiled), so the contact's phone gets that vote again, or a vote of nothing when none is left.
 * Redacting an older vote changes no count: nothing is sent.
 */
export async function voteRedactionToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, vote: StoredPollVote): Promise<void> {
  const { matrixUser, remoteUri } = portal;
  const voter = ctx.remote.ids.localUser(matrixUser);
  if (vote.voter !== voter) {
    return refuse(ctx, portal, ev, `only your own votes can be taken back; ${ctx.label(remoteUri)}'s vote still counts on ${ctx.network}`);
  }
  if (vote.redacted) return; // redacted before: what stands was sent then
  const standing = await ctx.store.pollVotes.standing(matrixUser, remoteUri, vote.pollMessageId, voter);
  if (standing?.messageId !== vote.messageId) {
    await ctx.store.pollVotes.markRedacted(matrixUser, remoteUri, vote.messageId);
    ctx.log.info({ messageId: vote.messageId }, "the user redacted an earlier vote; their newer vote still stands, nothing is sent");
    return;
  }
  const poll = await ctx.store.polls.get(matrixUser, remoteUri, vote.pollMessageId);
  const start = await ctx.store.messages.byMessageId(matrixUser, remoteUri, vote.pollMessageId);
  if (!poll || !start || poll.secret.length === 0) {
    ctx.log.warn({ messageId: vote.messageId, pollId: vote.pollMessageId }, "a redacted vote's poll is gone or has no key; the vote cannot be taken back");
    return refuse(ctx, portal, ev, `the vote's poll is no longer known to the bridge, so the vote still counts on ${ctx.network}`);
  }
  const before = await ctx.store.pollVotes.standing(matrixUser, remoteUri, vote.pollMessageId, voter, vote.messageId);
  await queueForRemote(ctx, portal, ev, {
    event: voteEvent(poll, start, voter, before?.selected ?? []),
    alsoCommit: () => ctx.store.pollVotes.markRedacted(matrixUser, remoteUri, vote.messageId),
  });
}

export async function pollEndToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const found = await pollOf(ctx, portal, ev);
  if (!found) return refuse(ctx, portal, ev, "the poll it closes was not bridged");
  const text = ctx.remote.text.fromMatrix({ body: `📊 Poll closed: ${found.poll.question}` });
  await queueForRemote(ctx, portal, ev, { event: { kind: "message", text, emote: false, replyTo: refOf(found.start) }, mapAsMessage: true });
}
