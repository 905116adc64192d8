// Counts for monitoring, read when metrics are scraped: how much waits in each durable queue and for how long, and
// how many portals and puppets exist. Read-only; a scrape never holds a write lock.
import type { SqlDatabase } from "../sql/sql.js";

export type QueueName = "matrix_inbound" | "outbox" | "inbox";
export const QUEUE_NAMES: readonly QueueName[] = ["matrix_inbound", "outbox", "inbox"];

/** The column that says when an item was queued (0: unknown, queued before migration 7). */
const QUEUED_AT: Record<QueueName, string> = { matrix_inbound: "queued_at", outbox: "created_at", inbox: "queued_at" };

export interface QueueStats {
  readonly depth: number;
  /** Age of the oldest item, 0 when the queue is empty. */
  readonly oldestAgeSeconds: number;
}

export class StoreStats {
  constructor(private readonly db: SqlDatabase) {}

  async queue(name: QueueName, now = Date.now()): Promise<QueueStats> {
    const column = QUEUED_AT[name];
    const row = await this.db.get<{ n: number | string; oldest: number | string | null }>(
      `SELECT count(*) AS n, min(CASE WHEN ${column} > 0 THEN ${column} END) AS oldest FROM ${name}`,
    );
    const oldest = row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest);
    return { depth: Number(row?.n ?? 0), oldestAgeSeconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
  }

  async portals(): Promise<number> {
    return this.count("portals");
  }

  async puppets(): Promise<number> {
    return this.count("puppets");
  }

  private async count(table: "portals" | "puppets"): Promise<number> {
    return Number((await this.db.get<{ n: number | string }>(`SELECT count(*) AS n FROM ${table}`))?.n ?? 0);
  }
}
