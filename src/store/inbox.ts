// Interop -> Matrix inbox: decrypted content waits here until it is posted, then it is deleted.
import type { SqliteDb } from "./database.js";
import { QueueTable } from "./queue-table.js";

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
  constructor(db: SqliteDb) {
    super(db, "inbox", "matrix_user, remote_uri");
  }

  protected fromRow(row: Record<string, unknown>): InboxEntry {
    return toEntry(row);
  }

  /**
   * Records an envelope as seen and queues its content, once. Returns false for a redelivery. Call inside the
   * transaction that commits the ratchet state of the decryption.
   */
  addOnce(e: NewInboxEntry, now = Date.now()): boolean {
    const seen = this.db
      .prepare("INSERT OR IGNORE INTO seen_envelopes (message_id, recipient, sender, sender_device, seen_at) VALUES (?, ?, ?, ?, ?)")
      .run(e.messageId, e.matrixUser, e.remoteUri, e.senderDevice, now);
    if (seen.changes === 0) return false;
    this.db
      .prepare(
        `INSERT INTO inbox (matrix_user, remote_uri, sender_device, message_id, timestamp, content, identity_changed)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(e.matrixUser, e.remoteUri, e.senderDevice, e.messageId, e.timestamp, e.content, e.identityChanged ? 1 : 0);
    return true;
  }

  wasSeen(messageId: string, matrixUser: string, remoteUri: string, senderDevice: number): boolean {
    return !!this.db
      .prepare("SELECT 1 FROM seen_envelopes WHERE message_id = ? AND recipient = ? AND sender = ? AND sender_device = ?")
      .get(messageId, matrixUser, remoteUri, senderDevice);
  }

  /** Forgets envelopes accepted before `olderThan`; returns how many. */
  pruneSeen(olderThan: number): number {
    return this.db.prepare("DELETE FROM seen_envelopes WHERE seen_at < ?").run(olderThan).changes;
  }
}

function toEntry(r: Record<string, unknown>): InboxEntry {
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
