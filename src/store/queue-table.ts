// What the durable queue tables (outbox, inbox, Matrix inbound) share: per-chat heads, removal, retry bookkeeping.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

/** More heads than any scan needs; both engines take it where SQLite alone would take -1 for "no limit". */
const ALL = 1_000_000_000;

export abstract class QueueTable<Entry extends { seq: number }> {
  private readonly listeners = new Set<() => void>();

  constructor(
    protected readonly db: SqlDatabase,
    private readonly table: "outbox" | "inbox" | "matrix_inbound",
    /** Columns that name one ordered chat; heads() returns the oldest entry of each. */
    private readonly chatColumns: string,
  ) {}

  protected abstract fromRow(row: SqlRow): Entry;

  /** The head of every chat's queue: sending heads only keeps the order within a chat. */
  heads(): Promise<Entry[]> {
    return this.headsDueBy(Number.MAX_SAFE_INTEGER, ALL);
  }

  /**
   * The heads that are due by `now` (a head waiting for its retry time holds its chat back), oldest first, without
   * `busy` (entries being handled: they are still their chats' heads, and reading their payloads again is waste).
   */
  due(now: number, limit = 1000, busy: readonly { seq: number }[] = []): Promise<Entry[]> {
    return this.headsDueBy(now, limit, busy);
  }

  /** Calls `listener` whenever entries were queued, once they are committed (so any connection sees them). */
  onQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Subclasses call this after inserting: the listeners hear of it once the caller's transaction has ended. */
  protected queued(): void {
    if (this.listeners.size === 0) return;
    const notify = () => {
      for (const l of this.listeners) l();
    };
    if (this.db.afterTransaction) this.db.afterTransaction(notify);
    else setImmediate(notify);
  }

  private async headsDueBy(now: number, limit: number, busy: readonly { seq: number }[] = []): Promise<Entry[]> {
    const t = this.table;
    // A few statement shapes (one per number of busy entries, bounded by the worker's parallelism) stay cached.
    const skip = busy.length > 0 ? ` AND q.seq NOT IN (${busy.map(() => "?").join(", ")})` : "";
    const rows = await this.db.all(
      `SELECT q.* FROM ${t} q JOIN (SELECT min(seq) AS seq FROM ${t} GROUP BY ${this.chatColumns}) h ON h.seq = q.seq
       WHERE q.not_before <= ?${skip} ORDER BY q.seq LIMIT ?`,
      [now, ...busy.map((b) => b.seq), limit],
    );
    return rows.map((r) => this.fromRow(r));
  }

  async remove(seq: number): Promise<void> {
    await this.db.run(`DELETE FROM ${this.table} WHERE seq = ?`, [seq]);
  }

  async retryLater(seq: number, error: string, notBefore: number): Promise<void> {
    await this.db.run(`UPDATE ${this.table} SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE seq = ?`, [error, notBefore, seq]);
  }

  async pending(): Promise<number> {
    return (await this.db.get<{ n: number }>(`SELECT count(*) AS n FROM ${this.table}`))!.n;
  }
}
