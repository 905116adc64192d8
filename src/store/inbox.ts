// Interop -> Matrix inbox: decrypted content waits here until it is posted, then it is deleted.
import { QueueTable } from "./queue-table.js";
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface InboxEntry {
  seq: number;
  matrixUser: string;
  remoteUri: string;
  senderDevice: number;
  messageId: string;
  timestamp: number;
  content: Uint8Array;
  identityChanged: boolean;
  attempts: number;
  notBefore: number;
}

/**
 * How long an accepted envelope's ID is remembered. Redeliveries come from two places: the gatekeeper resends what was
 * not acknowledged when a connection starts (so within an outage of either side), and a sending provider may resend a
 * message with the same ID, freshly encrypted, until its gatekeeper accepted it (this bridge gives up after 24 hours;
 * others are not bounded by the protocol). A week covers both with room to spare; after it the row, which says who
 * wrote to whom and when, is deleted.
 */
export const SEEN_ENVELOPE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export type NewInboxEntry = Omit<InboxEntry, "seq" | "attempts" | "notBefore">;

export class InboxStore extends QueueTable<InboxEntry> {
  constructor(db: SqlDatabase) {
    super(db, "inbox", "matrix_user, remote_uri");
  }

  protected fromRow(row: SqlRow): InboxEntry {
    return toEntry(row);
  }

  /**
   * Records an envelope as seen and queues its content, once. Returns false for a redelivery. Call inside the
   * transaction that commits the ratchet state of the decryption.
   */
  async addOnce(e: NewInboxEntry, now = Date.now()): Promise<boolean> {
    const seen = await this.db.run(
      "INSERT INTO seen_envelopes (message_id, recipient, sender, sender_device, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [e.messageId, e.matrixUser, e.remoteUri, e.senderDevice, now],
    );
    if (seen.changes === 0) return false;
    await this.db.run(
      `INSERT INTO inbox (matrix_user, remote_uri, sender_device, message_id, timestamp, content, identity_changed, queued_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [e.matrixUser, e.remoteUri, e.senderDevice, e.messageId, e.timestamp, e.content, e.identityChanged ? 1 : 0, now],
    );
    this.queued();
    return true;
  }

  async wasSeen(messageId: string, matrixUser: string, remoteUri: string, senderDevice: number): Promise<boolean> {
    const row = await this.db.get(
      "SELECT 1 AS one FROM seen_envelopes WHERE message_id = ? AND recipient = ? AND sender = ? AND sender_device = ?",
      [messageId, matrixUser, remoteUri, senderDevice],
    );
    return row !== undefined;
  }

  /** Forgets envelopes accepted before `olderThan`; returns how many. */
  async pruneSeen(olderThan: number): Promise<number> {
    return (await this.db.run("DELETE FROM seen_envelopes WHERE seen_at < ?", [olderThan])).changes;
  }
}

function toEntry(r: SqlRow): InboxEntry {
  return {
    seq: r.seq as number,
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    senderDevice: r.sender_device as number,
    messageId: r.message_id as string,
    timestamp: r.timestamp as number,
    content: new Uint8Array(r.content as Buffer),
    identityChanged: r.identity_changed === 1,
    attempts: r.attempts as number,
    notBefore: r.not_before as number,
  };
}
