// Durable intake of appservice transactions: each item is queued once, in one SQLite transaction per transaction.
import { createHash } from "node:crypto";
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

  /**
   * Queues the items of a transaction that were not queued before; returns how many were new. Idempotency rests on
   * what identifies an item (see inboundKey), not on the transaction ID: a homeserver resends a transaction under
   * the same ID, but may also reuse an old ID for new events (Synapse does after a restart).
   */
  accept(txnId: string, items: readonly InboundItem[], now = Date.now()): number {
    return this.db.transaction(() => {
      const seen = this.db.prepare("INSERT OR IGNORE INTO appservice_seen (item_key, received_at) VALUES (?, ?)");
      const add = this.db.prepare("INSERT INTO matrix_inbound (kind, room_id, payload) VALUES (?, ?, ?)");
      let queued = 0;
      for (const item of items) {
        const payload = JSON.stringify(item.payload);
        if (seen.run(inboundKey(txnId, item, payload), now).changes === 0) continue;
        add.run(item.kind, item.roomId ?? null, payload);
        queued++;
      }
      return queued;
    })();
  }

  /** The transaction number the homeserver should send next (see AppserviceGapGuard); undefined before the first. */
  expectedTxn(): number | undefined {
    const row = this.db.prepare("SELECT value FROM kv WHERE key = 'appservice.next_txn'").get() as { value: string } | undefined;
    return row ? Number(row.value) : undefined;
  }

  setExpectedTxn(next: number): void {
    this.db.prepare("INSERT INTO kv (key, value) VALUES ('appservice.next_txn', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(next));
  }

  /** Puts an item back in the queue on purpose (an event whose room key arrived), past the duplicate check. */
  requeue(item: InboundItem): void {
    this.db.prepare("INSERT INTO matrix_inbound (kind, room_id, payload) VALUES (?, ?, ?)").run(item.kind, item.roomId ?? null, JSON.stringify(item.payload));
  }

  done(seq: number): void {
    this.remove(seq);
  }

  /** Forgets what was received before the horizon; a homeserver does not resend a transaction that late. */
  pruneSeen(olderThan: number): number {
    return this.db.prepare("DELETE FROM appservice_seen WHERE received_at < ?").run(olderThan).changes;
  }
}

/**
 * What makes an inbound item the same item when it comes again. Room events have IDs that the homeserver never
 * reuses. To-device messages have none, but each carries fresh ciphertext or a request ID, so their content is
 * unique. Ephemeral events and device-list or key-count updates repeat the same content legitimately (typing on,
 * off, on again), so only a resend of the same transaction counts as a repeat for them.
 */
function inboundKey(txnId: string, item: InboundItem, payload: string): string {
  const digest = (text: string) => createHash("sha256").update(text).digest("base64url");
  if (item.kind === "event") {
    const eventId = (item.payload as { event_id?: unknown } | null)?.event_id;
    if (typeof eventId === "string") return `event:${eventId}`;
  }
  if (item.kind === "to_device") return `to_device:${digest(payload)}`;
  return `${item.kind}:${digest(`${txnId}\u0000${payload}`)}`;
}
