// Polls: WhatsApp's poll creation (in any of its three fields) <-> the core's poll, with the 32-byte message secret
// (messageContextInfo.messageSecret; older clients used the poll's enc_key) that its votes are sealed with; and
// votes (pollUpdateMessage), sealed and opened by poll-vote-crypto.ts.
import type { OpenedVote } from "../../../core/ports.js";
import type { MessageRef, PollKeys, RemoteEvent, RemoteVote } from "../../../core/events.js";
import { pollOf } from "../../../protocol/content-kinds.js";
import type { Message } from "../../../protocol/gen/content_pb.js";
import type { MessageInit } from "../media-message.js";
import { contextOf } from "./context.js";
import { openVote, optionHash, optionsOfHashes, POLL_SECRET_BYTES, sealVote, VoteCryptoError, type SealedVote } from "../../../protocol/poll-vote-crypto.js";

const NETWORK = "whatsapp";

/** `outer`: the message as it came, wrappers and all (the secret may sit beside the wrapper or the poll). */
export function pollEvent(m: Message, outer: Message = m): RemoteEvent | undefined {
  const poll = pollOf(m);
  if (poll) {
    const secret = [outer.messageContextInfo?.messageSecret, m.messageContextInfo?.messageSecret, poll.encKey].find((s) => s?.length === POLL_SECRET_BYTES);
    return {
      kind: "poll",
      question: poll.name,
      options: poll.options.map((o) => o.optionName),
      maxSelections: poll.selectableOptionsCount,
      ...(secret ? { secret: new Uint8Array(secret) } : {}),
      ...contextOf(poll.contextInfo),
    };
  }
  const u = m.pollUpdateMessage;
  if (u) {
    if (!u.pollCreationMessageKey?.id || !u.vote) return { kind: "unsupported", what: "a vote that names no poll", detail: "pollUpdateMessage without poll_creation_message_key.id or vote" };
    const sealed: SealedVote = { encPayload: u.vote.encPayload, encIv: u.vote.encIv };
    return { kind: "poll_vote", pollId: u.pollCreationMessageKey.id, vote: { network: NETWORK, value: sealed } };
  }
  return undefined;
}

export function pollMessage(question: string, options: readonly string[], maxSelections: number, secret: Uint8Array): MessageInit {
  return {
    pollCreationMessage: { name: question, options: options.map((optionName) => ({ optionName })), selectableOptionsCount: maxSelections },
    messageContextInfo: { messageSecret: secret },
  };
}

export function voteMessage(poll: PollKeys & { ref: MessageRef }, contact: string, voter: string, selected: readonly number[], nowMs: number): MessageInit {
  const hashes = selected.map((i) => {
    const name = poll.options[i];
    if (name === undefined) throw new RangeError(`the poll has no option ${i}`);
    return optionHash(name);
  });
  const vote = sealVote({ pollMessageId: poll.pollMessageId, pollCreator: poll.creator, voter, secret: poll.secret }, hashes);
  return {
    pollUpdateMessage: {
      pollCreationMessageKey: { id: poll.ref.messageId, remoteJid: contact, fromMe: poll.ref.fromMe },
      vote,
      senderTimestampMs: BigInt(nowMs),
    },
  };
}

export function openWhatsAppVote(vote: RemoteVote, poll: PollKeys, voter: string): OpenedVote {
  if (vote.network !== NETWORK) return { ok: false, reason: `a vote of another network (${vote.network})` };
  try {
    const hashes = openVote({ pollMessageId: poll.pollMessageId, pollCreator: poll.creator, voter, secret: poll.secret }, vote.value as SealedVote);
    return { ok: true, ...optionsOfHashes(poll.options, hashes) };
  } catch (err) {
    if (err instanceof VoteCryptoError) return { ok: false, reason: err.message };
    throw err;
  }
}
