// Votes in bridged polls, whichever side cast them: which poll, who, what they chose, and whether the vote's Matrix
// event was redacted. A voter's standing vote is their newest one not redacted (MSC3381: redacting a response
// reverts the vote to the one before it), which is what a Matrix user's redaction sends to the network in its place.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface PollVoteRow {
  matrixUser: string;
  remoteUri: string;
  /** The network's message ID of the vote (each vote is a message of its own). */
  messageId: string;
  /** The network's message ID of the poll. */
  pollMessageId: string;
  /** The network's ID of who voted. */
  voter: string;
  /** Indices into the poll's options; empty: the vote was taken back. */
  selected: number[];
  timestamp: number;
}

export interface StoredPollVote extends PollVoteRow {
  redacted: boolean;
}

export class PollVoteStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Keeps the first row of a vote: a redelivered vote changes nothing. */
  async put(v: PollVoteRow): Promise<void> {
    await this.db.run(
      `INSERT INTO poll_votes (matrix_user, remote_uri, message_id, poll_message_id, voter, selected, timestamp, redacted)
       VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT (matrix_user, remote_uri, message_id) DO NOTHING`,
      [v.matrixUser, v.remoteUri, v.messageId, v.pollMessageId, v.voter, JSON.stringify(v.selected), v.timestamp],
    );
  }

  async get(matrixUser: string, remoteUri: string, messageId: string): Promise<StoredPollVote | undefined> {
    const r = await this.db.get("SELECT * FROM poll_votes WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?", [matrixUser, remoteUri, messageId]);
    return r && toRow(r);
  }

  /**
   * The voter's newest vote in the poll that was not redacted (ties go to the greater message ID: some fixed order),
   * leaving out `except`: what would stand without it.
   */
  async standing(matrixUser: string, remoteUri: string, pollMessageId: string, voter: string, except = ""): Promise<StoredPollVote | undefined> {
    const r = await this.db.get(
      `SELECT * FROM poll_votes WHERE matrix_user = ? AND remote_uri = ? AND poll_message_id = ? AND voter = ? AND redacted = 0 AND message_id <> ?
       ORDER BY timestamp DESC, message_id DESC LIMIT 1`,
      [matrixUser, remoteUri, pollMessageId, voter, except],
    );
    return r && toRow(r);
  }

  async markRedacted(matrixUser: string, remoteUri: string, messageId: string): Promise<void> {
    await this.db.run("UPDATE poll_votes SET redacted = 1 WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?", [matrixUser, remoteUri, messageId]);
  }
}

function toRow(r: SqlRow): StoredPollVote {
  return {
    matrixUser: String(r.matrix_user),
    remoteUri: String(r.remote_uri),
    messageId: String(r.message_id),
    pollMessageId: String(r.poll_message_id),
    voter: String(r.voter),
    selected: JSON.parse(String(r.selected)) as number[],
    timestamp: Number(r.timestamp),
    redacted: Number(r.redacted) !== 0,
  };
}
