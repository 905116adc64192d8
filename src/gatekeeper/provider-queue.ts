// Durable queue of envelopes for a provider's users. An envelope stays until the provider acknowledges it by
// (id, recipient, recipient device); `seq` fixes the delivery order, also across reconnects.
import type { Db } from "./db.js";

export interface QueuedEnvelope {
  seq: number;
  envelope: Uint8Array; // serialized Envelope
}

export class ProviderQueue {
  constructor(private readonly db: Db) {}

  /** Returns false when this (id, recipient, device) is already queued: the queue deduplicates retries. */
  enqueue(providerId: string, e: { id: Uint8Array; recipient: string; recipientDevice: number }, envelope: Uint8Array): boolean {
    const result = this.db
      .prepare(
        `INSERT OR IGNORE INTO provider_queue (provider_id, message_id, recipient, recipient_device, envelope, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(providerId, e.id, e.recipient, e.recipientDevice, envelope, Date.now());
    return result.changes > 0;
  }

  pendingAfter(providerId: string, afterSeq: number, limit: number): QueuedEnvelope[] {
    return (this.db
      .prepare("SELECT seq, envelope FROM provider_queue WHERE provider_id = ? AND seq > ? ORDER BY seq LIMIT ?")
      .all(providerId, afterSeq, limit) as { seq: number; envelope: Buffer }[]).map((r) => ({ seq: r.seq, envelope: new Uint8Array(r.envelope) }));
  }

  /** Removes an acknowledged envelope and returns it; undefined when nothing matched (already acknowledged, or never
   * queued for this provider). */
  ack(providerId: string, id: Uint8Array, recipient: string, recipientDevice: number): Uint8Array | undefined {
    const row = this.db
      .prepare("DELETE FROM provider_queue WHERE provider_id = ? AND message_id = ? AND recipient = ? AND recipient_device = ? RETURNING envelope")
      .get(providerId, id, recipient, recipientDevice) as { envelope: Buffer } | undefined;
    return row && new Uint8Array(row.envelope);
  }

  /** Removes the queued envelopes for `recipient` that `match` picks, and returns them (caller's transaction). */
  dropWhere(providerId: string, recipient: string, match: (envelope: Uint8Array) => boolean): Uint8Array[] {
    const rows = this.db.prepare("SELECT seq, envelope FROM provider_queue WHERE provider_id = ? AND recipient = ? ORDER BY seq").all(providerId, recipient) as {
      seq: number;
      envelope: Buffer;
    }[];
    const dropped: Uint8Array[] = [];
    const remove = this.db.prepare("DELETE FROM provider_queue WHERE seq = ?");
    for (const row of rows) {
      const envelope = new Uint8Array(row.envelope);
      if (!match(envelope)) continue;
      remove.run(row.seq);
      dropped.push(envelope);
    }
    return dropped;
  }

  count(providerId: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM provider_queue WHERE provider_id = ?").get(providerId) as { n: number }).n;
  }
}
