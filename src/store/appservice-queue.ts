// Durable intake of appservice transactions: each item is queued once, in one SQLite transaction per transaction.
import { createHash } from "node:crypto";
import { QueueTable } from "./queue-table.js";
import type { SqlDatabase, SqlRow, SqlValue } from "../sql/sql.js";

/**
 * The ordering lane of to-device messages, device lists and key counts: one lane, never a room (room IDs start with
 * "!"). No NUL in it: PostgreSQL refuses NUL in text.
 */
export const CRYPTO_LANE = "crypto:";

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
  constructor(db: SqlDatabase) {
    super(db, "matrix_inbound", "room_id");
  }

  protected fromRow(r: SqlRow): QueuedInbound {
    return { seq: r.seq as number, kind: r.kind as InboundKind, roomId: (r.room_id as string | null) ?? null, payload: JSON.parse(r.payload as string), attempts: r.attempts as number };
  }

  /**
   * Queues the items of a transaction that were not queued before; returns how many were new. Idempotency rests on
   * what identifies an item (see inboundKey), not on the transaction ID: a homeserver resends a transaction under
   * the same ID, but may also reuse an old ID for new events (Synapse does after a restart).
   */
  accept(txnId: string, items: readonly InboundItem[], now = Date.now()): Promise<number> {
    return this.db.transaction(async () => {
      let queued = 0;
      for (const item of items) {
        const payload = JSON.stringify(item.payload);
        const seen = await this.db.run("INSERT INTO appservice_seen (item_key, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING", [inboundKey(txnId, item, payload), now]);
        if (seen.changes === 0) continue;
        await this.db.run("INSERT INTO matrix_inbound (kind, room_id, payload, queued_at) VALUES (?, ?, ?, ?)", [item.kind, item.roomId ?? null, payload, now]);
        queued++;
      }
      if (queued > 0) this.queued();
      return queued;
    });
  }

  /** The transaction number the homeserver should send next (see AppserviceGapGuard); undefined before the first. */
  async expectedTxn(): Promise<number | undefined> {
    const row = await this.db.get<{ value: string }>("SELECT value FROM kv WHERE key = 'appservice.next_txn'");
    return row ? Number(row.value) : undefined;
  }

  async setExpectedTxn(next: number): Promise<void> {
    await this.db.run("INSERT INTO kv (key, value) VALUES ('appservice.next_txn', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [String(next)]);
  }

  /**
   * Queues the events of a room's timeline (oldest first) that never came in a transaction, and puts the room's queued
   * events into the timeline's order: the missed ones were sent before events that reached the bridge after the
   * homeserver came back, and must go out before them. Returns how many were missed. The room must not be in the
   * worker's hands while this runs (its entries change places).
   */
  acceptMissed(roomId: string, timeline: readonly { event_id: string }[], now = Date.now()): Promise<number> {
    return this.db.transaction(async () => {
      let missed = 0;
      for (const ev of timeline) {
        const seen = await this.db.run("INSERT INTO appservice_seen (item_key, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING", [`event:${ev.event_id}`, now]);
        if (seen.changes === 0) continue;
        await this.db.run("INSERT INTO matrix_inbound (kind, room_id, payload, queued_at) VALUES ('event', ?, ?, ?)", [roomId, JSON.stringify(ev), now]);
        missed++;
      }
      if (missed === 0) return 0;
      const position = new Map(timeline.map((ev, i) => [ev.event_id, i]));
      const rows = await this.db.all("SELECT seq, payload, attempts, not_before, last_error, queued_at FROM matrix_inbound WHERE room_id = ? AND kind = 'event' ORDER BY seq", [roomId]);
      const placed = rows
        .map((r) => ({ row: r, at: position.get((JSON.parse(r.payload as string) as { event_id?: string }).event_id ?? "") }))
        .filter((r): r is { row: SqlRow; at: number } => r.at !== undefined);
      // The same sequence numbers, handed out again in the timeline's order: entries outside the timeline keep theirs.
      const seqs = placed.map((p) => p.row.seq as number);
      const ordered = [...placed].sort((a, b) => a.at - b.at);
      for (let i = 0; i < ordered.length; i++) {
        const { row } = ordered[i]!;
        if (row.seq === seqs[i]) continue;
        await this.db.run("UPDATE matrix_inbound SET payload = ?, attempts = ?, not_before = ?, last_error = ?, queued_at = ? WHERE seq = ?", [row.payload, row.attempts, row.not_before, row.last_error, row.queued_at, seqs[i]!] as SqlValue[]);
      }
      this.queued();
      return missed;
    });
  }

  /** The highest sequence number queued so far (0 when none ever was). */
  async lastSeq(): Promise<number> {
    const row = await this.db.get<{ seq: number | null }>("SELECT max(seq) AS seq FROM matrix_inbound");
    return Number(row?.seq ?? 0);
  }

  /** What a catch-up after a homeserver outage still has to do (see app/homeserver-catch-up.ts); kept across restarts. */
  async catchUpState(): Promise<{ since: number; afterSeq: number } | undefined> {
    const row = await this.db.get<{ value: string }>("SELECT value FROM kv WHERE key = 'homeserver.catch_up'");
    return row ? (JSON.parse(row.value) as { since: number; afterSeq: number }) : undefined;
  }

  async setCatchUpState(state: { since: number; afterSeq: number } | undefined): Promise<void> {
    if (!state) await this.db.run("DELETE FROM kv WHERE key = 'homeserver.catch_up'");
    else await this.db.run("INSERT INTO kv (key, value) VALUES ('homeserver.catch_up', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [JSON.stringify(state)]);
  }

  /** Puts an item back in the queue on purpose (an event whose room key arrived), past the duplicate check. */
  async requeue(item: InboundItem): Promise<void> {
    await this.db.run("INSERT INTO matrix_inbound (kind, room_id, payload, queued_at) VALUES (?, ?, ?, ?)", [item.kind, item.roomId ?? null, JSON.stringify(item.payload), Date.now()]);
    this.queued();
  }

  done(seq: number): Promise<void> {
    return this.remove(seq);
  }

  /** Forgets what was received before the horizon; a homeserver does not resend a transaction that late. */
  async pruneSeen(olderThan: number): Promise<number> {
    return (await this.db.run("DELETE FROM appservice_seen WHERE received_at < ?", [olderThan])).changes;
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
