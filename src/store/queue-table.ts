// What the durable queue tables (outbox, inbox, Matrix inbound) share: per-chat heads, removal, retry bookkeeping.
import type { SqliteDb } from "./database.js";

export abstract class QueueTable<Entry> {
  constructor(
    protected readonly db: SqliteDb,
    private readonly table: "outbox" | "inbox" | "matrix_inbound",
    /** Columns that name one ordered chat; heads() returns the oldest entry of each. */
    private readonly chatColumns: string,
  ) {}

  protected abstract fromRow(row: Record<string, unknown>): Entry;

  /** The head of every chat's queue: sending heads only keeps the order within a chat. */
  heads(): Entry[] {
    return this.headsDueBy(Number.MAX_SAFE_INTEGER, -1);
  }

  /** The heads that are due by `now` (a head waiting for its retry time holds its chat back), oldest first. */
  due(now: number, limit = 1000): Entry[] {
    return this.headsDueBy(now, limit);
  }

  private headsDueBy(now: number, limit: number): Entry[] {
    const t = this.table;
    return (
      this.db
        .prepare(
          `SELECT q.* FROM ${t} q JOIN (SELECT min(seq) AS seq FROM ${t} GROUP BY ${this.chatColumns}) h ON h.seq = q.seq
           WHERE q.not_before <= ? ORDER BY q.seq LIMIT ?`,
        )
        .all(now, limit) as Record<string, unknown>[]
    ).map((r) => this.fromRow(r));
  }

  remove(seq: number): void {
    this.db.prepare(`DELETE FROM ${this.table} WHERE seq = ?`).run(seq);
  }

  retryLater(seq: number, error: string, notBefore: number): void {
    this.db.prepare(`UPDATE ${this.table} SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE seq = ?`).run(error, notBefore, seq);
  }

  pending(): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM ${this.table}`).get() as { n: number }).n;
  }
}
