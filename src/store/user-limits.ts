// What each Matrix user did recently that a bridge-side flood limit counts (messages sent, new chats opened), as one
// row per counted thing. Kept in the database because a restart must not hand out a fresh window: the rows outlive
// the process, and a row older than its window is pruned when that user is next counted.
import type { SqlDatabase } from "../sql/sql.js";

/**
 * message, portal: what a Matrix user did (the row's matrix_user is theirs). remote_chat: a remote sender wrote to a
 * user it had no chat with (matrix_user holds the sender's URI, ref the Matrix user).
 */
export type LimitKind = "message" | "portal" | "remote_chat";

export type Admission = { ok: true } | { ok: false; retryAfterMs: number; count: number };

export class UserLimitStore {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Counts `ref` (an outbox message ID, a contact) for the user if fewer than `limit` things of this kind fall in the
   * window ending now; a ref already counted is admitted again without counting twice (a retried send). When refused,
   * `retryAfterMs` is when the oldest counted thing leaves the window and one more would be admitted.
   */
  admit(matrixUser: string, kind: LimitKind, ref: string, limit: number, windowMs: number, now = Date.now()): Promise<Admission> {
    return this.db.transaction(async () => {
      await this.db.run("DELETE FROM user_limit_events WHERE matrix_user = ? AND kind = ? AND at <= ?", [matrixUser, kind, now - windowMs]);
      if (await this.db.get("SELECT 1 AS one FROM user_limit_events WHERE matrix_user = ? AND kind = ? AND ref = ?", [matrixUser, kind, ref])) return { ok: true as const };
      const times = await this.db.all<{ at: number | bigint }>(
        "SELECT at FROM user_limit_events WHERE matrix_user = ? AND kind = ? ORDER BY at DESC LIMIT ?",
        [matrixUser, kind, limit],
      );
      if (times.length >= limit) {
        const oldest = Number(times[times.length - 1]!.at);
        return { ok: false as const, retryAfterMs: Math.max(1, oldest + windowMs - now), count: times.length };
      }
      await this.db.run("INSERT INTO user_limit_events (matrix_user, kind, ref, at) VALUES (?, ?, ?, ?)", [matrixUser, kind, ref, now]);
      return { ok: true as const };
    });
  }

  /** How many things of this kind the user did in the window ending now. */
  async count(matrixUser: string, kind: LimitKind, windowMs: number, now = Date.now()): Promise<number> {
    const row = await this.db.get<{ n: number | bigint }>("SELECT count(*) AS n FROM user_limit_events WHERE matrix_user = ? AND kind = ? AND at > ?", [matrixUser, kind, now - windowMs]);
    return Number(row?.n ?? 0);
  }
}
