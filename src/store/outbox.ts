// Matrix -> interop outbox: entries stay until the gatekeeper accepts them (or they fail for good).
import type { SqliteDb } from "./database.js";
import { QueueTable } from "./queue-table.js";

export interface OutboxEntry {
  seq: number;
  matrixUser: string;
  remoteUri: string;
  messageId: string;
  roomId: string | null;
  eventId: string | null;
  content: Uint8Array;
  envelopes: Uint8Array | null;
  attempts: number;
  notBefore: number;
  createdAt: number;
}

export interface NewOutboxEntry {
  matrixUser: string;
  remoteUri: string;
  messageId: string;
  roomId?: string | null;
  eventId?: string | null;
  content: Uint8Array;
}

export class OutboxStore extends QueueTable<OutboxEntry> {
  constructor(db: SqliteDb) {
    super(db, "outbox", "matrix_user, remote_uri");
  }

  protected fromRow(row: Record<string, unknown>): OutboxEntry {
    return toEntry(row);
  }

  add(e: NewOutboxEntry, now = Date.now()): number {
    const r = this.db
      .prepare(
        `INSERT INTO outbox (matrix_user, remote_uri, message_id, room_id, event_id, content, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.matrixUser, e.remoteUri, e.messageId, e.roomId ?? null, e.eventId ?? null, e.content, now);
    return Number(r.lastInsertRowid);
  }

  /** Call inside the transaction that commits the ratchet state that produced these envelopes. */
  setEnvelopes(seq: number, envelopes: Uint8Array | null): void {
    this.db.prepare("UPDATE outbox SET envelopes = ? WHERE seq = ?").run(envelopes, seq);
  }

  get(seq: number): OutboxEntry | undefined {
    const r = this.db.prepare("SELECT * FROM outbox WHERE seq = ?").get(seq) as Record<string, unknown> | undefined;
    return r && toEntry(r);
  }

  hasMessage(matrixUser: string, remoteUri: string, messageId: string): boolean {
    return !!this.db.prepare("SELECT 1 FROM outbox WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?").get(matrixUser, remoteUri, messageId);
  }

  /** The connection is back: everything waiting for it is due now. */
  retryAllNow(): void {
    this.db.prepare("UPDATE outbox SET not_before = 0 WHERE not_before > 0").run();
  }

}

function toEntry(r: Record<string, unknown>): OutboxEntry {
  return {
    seq: r.seq as number,
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    messageId: r.message_id as string,
    roomId: (r.room_id as string | null) ?? null,
    eventId: (r.event_id as string | null) ?? null,
    content: new Uint8Array(r.content as Buffer),
    envelopes: r.envelopes ? new Uint8Array(r.envelopes as Buffer) : null,
    attempts: r.attempts as number,
    notBefore: r.not_before as number,
    createdAt: r.created_at as number,
  };
}
