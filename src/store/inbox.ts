// Interop -> Matrix inbox: decrypted content waits here until it is posted, then it is deleted.
import type { SqliteDb } from "./database.js";

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

export type NewInboxEntry = Omit<InboxEntry, "seq" | "attempts" | "notBefore">;

export class InboxStore {
  constructor(private readonly db: SqliteDb) {}

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

  heads(): InboxEntry[] {
    return (
      this.db
        .prepare(
          `SELECT i.* FROM inbox i JOIN (SELECT min(seq) AS seq FROM inbox GROUP BY matrix_user, remote_uri) h ON h.seq = i.seq ORDER BY i.seq`,
        )
        .all() as Record<string, unknown>[]
    ).map(toEntry);
  }

  remove(seq: number): void {
    this.db.prepare("DELETE FROM inbox WHERE seq = ?").run(seq);
  }

  retryLater(seq: number, error: string, notBefore: number): void {
    this.db
      .prepare("UPDATE inbox SET attempts = attempts + 1, last_error = ?, not_before = ? WHERE seq = ?")
      .run(error, notBefore, seq);
  }

  pending(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM inbox").get() as { n: number }).n;
  }

  pruneSeen(olderThan: number): void {
    this.db.prepare("DELETE FROM seen_envelopes WHERE seen_at < ?").run(olderThan);
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
