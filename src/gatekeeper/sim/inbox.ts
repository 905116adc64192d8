// Durable inbox of the simulated devices: envelopes a provider sent, accepted all-or-none per Send, kept until the
// device has decrypted and stored them.
import type { Envelope } from "../../protocol/gen/interop_pb.js";
import type { Db } from "../db.js";
import { encodeEnvelope } from "../wire.js";

export interface InboxItem {
  seq: number;
  e164: string;
  deviceId: number;
  envelope: Uint8Array;
}

export class SimInbox {
  constructor(private readonly db: Db) {}

  /** Stores all device copies of one message in one transaction. Copies accepted before (a retransmitted Send) are
   * skipped, so a retry after a lost SendResult does not deliver twice. Returns how many were new. */
  accept(e164: string, envelopes: Envelope[]): number {
    const now = Date.now();
    return this.db.transaction(() => {
      let added = 0;
      for (const e of envelopes) {
        const fresh = this.db
          .prepare("INSERT OR IGNORE INTO accepted_envelopes (message_id, recipient, recipient_device, accepted_at) VALUES (?, ?, ?, ?)")
          .run(e.id, e.recipient, e.recipientDevice, now).changes;
        if (!fresh) continue;
        this.db.prepare("INSERT INTO sim_inbox (e164, device_id, envelope, created_at) VALUES (?, ?, ?, ?)").run(e164, e.recipientDevice, encodeEnvelope(e), now);
        added++;
      }
      return added;
    })();
  }

  /** Whether this envelope was accepted before (a retransmitted Send). */
  wasAccepted(e: { id: Uint8Array; recipient: string; recipientDevice: number }): boolean {
    return this.db.prepare("SELECT 1 FROM accepted_envelopes WHERE message_id = ? AND recipient = ? AND recipient_device = ?").get(e.id, e.recipient, e.recipientDevice) !== undefined;
  }

  next(limit: number, afterSeq = 0): InboxItem[] {
    return (this.db.prepare("SELECT seq, e164, device_id, envelope FROM sim_inbox WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit) as {
      seq: number;
      e164: string;
      device_id: number;
      envelope: Buffer;
    }[]).map((r) => ({ seq: r.seq, e164: r.e164, deviceId: r.device_id, envelope: new Uint8Array(r.envelope) }));
  }

  remove(seq: number): void {
    this.db.prepare("DELETE FROM sim_inbox WHERE seq = ?").run(seq);
  }

  /** Envelopes for a device that no longer exists can never be read; drop them with the device. */
  dropDevice(e164: string, deviceId: number): void {
    this.db.prepare("DELETE FROM sim_inbox WHERE e164 = ? AND device_id = ?").run(e164, deviceId);
  }
}
