// Simulated phones' polls, with real vote crypto: the polls a user created or received are kept with their secret,
// so the user can vote in them as WhatsApp's apps do, and votes they receive are opened for tests and operators to
// read (the received row gets a `pollVote` beside the content: the chosen option names, or why it did not open).
import { create } from "@bufbuild/protobuf";
import { z } from "zod";
import { validateContent, type Content } from "../../protocol/content.js";
import { pollOf } from "../../protocol/content-kinds.js";
import { unwrapMessage } from "../../protocol/content-wrappers.js";
import { ContentSchema } from "../../protocol/gen/content_pb.js";
import { isMessageRefString } from "../../protocol/message-id.js";
import { openVote, optionHash, optionsOfHashes, POLL_SECRET_BYTES, sealVote, VoteCryptoError } from "../../protocol/poll-vote-crypto.js";
import type { Db } from "../db.js";

export const voteSchema = z
  .object({
    /** The poll's message ID. */
    poll: z.string().refine(isMessageRefString, "a message ID is 32 uppercase hex digits (or another network's ID)"),
    /** The chosen options by name; none takes the vote back. */
    options: z.array(z.string().min(1).max(200)).max(12),
  })
  .strict();

export interface SimPoll {
  messageId: string;
  creator: string;
  secret: Uint8Array;
  options: string[];
}

/** What a received vote said, as the received row shows it. */
export type OpenedSimVote = { poll: string; selected: string[] } | { poll: string; error: string };

export class SimPolls {
  constructor(private readonly db: Db) {}

  get(e164: string, messageId: string): SimPoll | undefined {
    const r = this.db.prepare("SELECT * FROM sim_polls WHERE e164 = ? AND message_id = ?").get(e164, messageId) as { message_id: string; creator: string; secret: Buffer; options: string } | undefined;
    return r && { messageId: r.message_id, creator: r.creator, secret: new Uint8Array(r.secret), options: JSON.parse(r.options) as string[] };
  }

  /** Keeps a poll the user sent or received (the first copy: a redelivery never changes its secret). */
  remember(e164: string, messageId: string, creator: string, content: Content): void {
    const wrapped = content.message;
    if (!wrapped) return;
    const m = unwrapMessage(wrapped).message;
    const poll = pollOf(m);
    if (!poll) return;
    const secret = [wrapped.messageContextInfo?.messageSecret, m.messageContextInfo?.messageSecret, poll.encKey].find((s) => s?.length === POLL_SECRET_BYTES);
    if (!secret) return;
    this.db
      .prepare("INSERT OR IGNORE INTO sim_polls (e164, message_id, creator, secret, options) VALUES (?, ?, ?, ?, ?)")
      .run(e164, messageId, creator, Buffer.from(secret), JSON.stringify(poll.options.map((o) => o.optionName)));
  }

  /** A vote by `voter` in one of the user's polls, sealed with the poll's secret. */
  voteContent(e164: string, voter: string, chat: string, vote: z.infer<typeof voteSchema>, nowMs: bigint): Content {
    const poll = this.get(e164, vote.poll);
    if (!poll) throw new Error(`${e164} knows no poll ${vote.poll}`);
    for (const o of vote.options) if (!poll.options.includes(o)) throw new Error(`the poll has no option "${o}"`);
    const sealed = sealVote({ pollMessageId: poll.messageId, pollCreator: poll.creator, voter, secret: poll.secret }, vote.options.map(optionHash));
    return validateContent(
      create(ContentSchema, {
        message: { pollUpdateMessage: { pollCreationMessageKey: { id: poll.messageId, remoteJid: chat, fromMe: poll.creator === voter }, vote: sealed, senderTimestampMs: nowMs } },
      }),
    );
  }

  /** Opens a vote the user received from `voter`; undefined when the content is no vote. */
  open(e164: string, voter: string, content: Content): OpenedSimVote | undefined {
    const u = content.message?.pollUpdateMessage;
    if (!u) return undefined;
    const id = u.pollCreationMessageKey?.id ?? "";
    const poll = this.get(e164, id);
    if (!poll || !u.vote) return { poll: id, error: "unknown poll" };
    try {
      const hashes = openVote({ pollMessageId: poll.messageId, pollCreator: poll.creator, voter, secret: poll.secret }, u.vote);
      const { selected, unknown } = optionsOfHashes(poll.options, hashes);
      if (unknown > 0) return { poll: id, error: `${unknown} chosen option(s) the poll does not have` };
      return { poll: id, selected: selected.map((i) => poll.options[i]!) };
    } catch (err) {
      if (err instanceof VoteCryptoError) return { poll: id, error: err.message };
      throw err;
    }
  }
}
