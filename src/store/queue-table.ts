// What the durable queue tables (outbox, inbox, Matrix inbound) share: per-chat heads, removal, retry bookkeeping.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

/** More heads than any scan needs; both engines take it where SQLite alone would take -1 for "no limit". */
const ALL = 1_000_000_000;

export abstract class QueueTable<Entry> {
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

  /** The heads that are due by `now` (a head waiting for its retry time holds its chat back), oldest first. */
  due(now: number, limit = 1000): Promise<Entry[]> {
    return this.headsDueBy(now, limit);
  }

  private async headsDueBy(now: number, limit: number): Promise<Entry[]> {
    const t = this.table;
    const rows = await this.db.all(
      `SELECT q.* FROM ${t} q JOIN (SELECT min(seq) AS seq FROM ${t} GROUP BY ${this.chatColumns}) h ON h.seq = q.seq
       WHERE q.not_before <= ? ORDER BY q.seq LIMIT ?`,
      [now, limit],
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
