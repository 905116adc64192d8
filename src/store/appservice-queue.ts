// Durable intake of appservice transactions: dedup by transaction ID and queue their items in one transaction.
import type { SqliteDb } from "./database.js";
import { QueueTable } from "./queue-table.js";

export type InboundKind = "event" | "ephemeral" | "to_device" | "device_lists" | "key_counts";

export interface InboundItem {
  kind: InboundKind;
  roomId?: string | undefined;
  payload: unknown;
}

export interface QueuedInbound {
  seq: number;
  kind: InboundKind;
  roomId: string | null;
  payload: unknown;
  attempts: number;
}

export class AppserviceQueue extends QueueTable<QueuedInbound> {
  constructor(db: SqliteDb) {
    super(db, "matrix_inbound", "room_id");
  }

  protected fromRow(r: Record<string, unknown>): QueuedInbound {
    return { seq: r.seq as number, kind: r.kind as InboundKind, roomId: (r.room_id as string | null) ?? null, payload: JSON.parse(r.payload as string), attempts: r.attempts as number };
  }

  /** Returns false when the transaction was accepted before (nothing is queued twice). */
  accept(txnId: string, items: readonly InboundItem[], now = Date.now()): boolean {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare("INSERT OR IGNORE INTO appservice_txns (txn_id, received_at) VALUES (?, ?)")
        .run(txnId, now);
      if (inserted.changes === 0) return false;
      const add = this.db.prepare("INSERT INTO matrix_inbound (kind, room_id, payload) VALUES (?, ?, ?)");
      for (const item of items) add.run(item.kind, item.roomId ?? null, JSON.stringify(item.payload));
      return true;
    })();
  }

  done(seq: number): void {
    this.remove(seq);
  }

  /** Forget transaction IDs older than the horizon; Synapse never retries that late. Returns how many. */
  pruneTxns(olderThan: number): number {
    return this.db.prepare("DELETE FROM appservice_txns WHERE received_at < ?").run(olderThan).changes;
  }
}
