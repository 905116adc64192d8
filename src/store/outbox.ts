// Matrix -> interop outbox: entries stay until the gatekeeper accepts them (or they fail for good).
import { QueueTable } from "./queue-table.js";
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

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
  constructor(db: SqlDatabase) {
    super(db, "outbox", "matrix_user, remote_uri");
  }

  protected fromRow(row: SqlRow): OutboxEntry {
    return toEntry(row);
  }

  async add(e: NewOutboxEntry, now = Date.now()): Promise<number> {
    const r = await this.db.get<{ seq: number }>(
      `INSERT INTO outbox (matrix_user, remote_uri, message_id, room_id, event_id, content, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      [e.matrixUser, e.remoteUri, e.messageId, e.roomId ?? null, e.eventId ?? null, e.content, now],
    );
    this.queued();
    return r!.seq;
  }

  /** Call inside the transaction that commits the ratchet state that produced these envelopes. */
  async setEnvelopes(seq: number, envelopes: Uint8Array | null): Promise<void> {
    await this.db.run("UPDATE outbox SET envelopes = ? WHERE seq = ?", [envelopes, seq]);
  }

  async get(seq: number): Promise<OutboxEntry | undefined> {
    const r = await this.db.get("SELECT * FROM outbox WHERE seq = ?", [seq]);
    return r && toEntry(r);
  }

  async hasMessage(matrixUser: string, remoteUri: string, messageId: string): Promise<boolean> {
    const row = await this.db.get("SELECT 1 AS one FROM outbox WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?", [matrixUser, remoteUri, messageId]);
    return row !== undefined;
  }

  /** The connection is back: everything waiting for it is due now. */
  async retryAllNow(): Promise<void> {
    if ((await this.db.run("UPDATE outbox SET not_before = 0 WHERE not_before > 0")).changes > 0) this.queued();
  }
}

function toEntry(r: SqlRow): OutboxEntry {
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
