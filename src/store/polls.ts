// Polls of bridged chats, whichever side created them: the secret their votes are sealed with (which a lost row
// would make unreadable for good), who created them, their options in order, and the Matrix answer IDs those options
// have in the portal, so votes map both ways.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface PollRow {
  matrixUser: string;
  remoteUri: string;
  /** The network's message ID of the poll. */
  messageId: string;
  /** The network's ID of who created it. */
  creator: string;
  secret: Uint8Array;
  question: string;
  options: string[];
  /** `answerIds[i]` is the Matrix answer ID of `options[i]`. */
  answerIds: string[];
  /** 0: any number. */
  maxSelections: number;
  /** Which MSC3381 event types its Matrix side speaks: the stable m.poll.* or the unstable org.matrix.msc3381.*. */
  matrixFlavour: "stable" | "unstable";
}

export class PollStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(matrixUser: string, remoteUri: string, messageId: string): Promise<PollRow | undefined> {
    const r = await this.db.get("SELECT * FROM polls WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?", [matrixUser, remoteUri, messageId]);
    return r && toRow(r);
  }

  /** Keeps the first row for a poll: a redelivered poll must not replace the secret its votes were sealed with. */
  async put(p: PollRow): Promise<void> {
    await this.db.run(
      `INSERT INTO polls (matrix_user, remote_uri, message_id, creator, secret, question, options, answer_ids, max_selections, matrix_flavour, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (matrix_user, remote_uri, message_id) DO NOTHING`,
      [p.matrixUser, p.remoteUri, p.messageId, p.creator, p.secret, p.question, JSON.stringify(p.options), JSON.stringify(p.answerIds), p.maxSelections, p.matrixFlavour, Date.now()],
    );
  }
}

function toRow(r: SqlRow): PollRow {
  return {
    matrixUser: String(r.matrix_user),
    remoteUri: String(r.remote_uri),
    messageId: String(r.message_id),
    creator: String(r.creator),
    secret: new Uint8Array(r.secret as Uint8Array),
    question: String(r.question),
    options: JSON.parse(String(r.options)) as string[],
    answerIds: JSON.parse(String(r.answer_ids)) as string[],
    maxSelections: Number(r.max_selections),
    matrixFlavour: r.matrix_flavour === "stable" ? "stable" : "unstable",
  };
}
