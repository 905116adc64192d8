// Every envelope a simulated device threw away instead of showing its user, with why: a reused ratchet counter
// ("duplicate-message"), a ciphertext that does not authenticate ("invalid-message": bad MAC, a chain too old or too
// far ahead), no session, an unknown prekey, an envelope that does not decode, or one it gave up on. A phone would
// drop these without a word; the simulation keeps them so that a test can fail on a message nobody sees.
//
// A redelivery (the same message ID decrypted again, after a sender retried) is recorded too, apart: the user still
// sees the message once, so it is no loss, but it counts how often senders retransmitted.
import type { Db } from "../db.js";

export type DiscardReason =
  | "undecodable-envelope"
  | "unknown-recipient-device"
  | "duplicate-message"
  | "no-session"
  | "untrusted-identity"
  | "unknown-prekey"
  | "replayed-prekey-message"
  | "invalid-message"
  | "invalid-argument"
  | "no-local-identity"
  | "invalid-bundle"
  | "gave-up"
  | "redelivered";

export interface DiscardedEnvelope {
  seq: number;
  e164: string;
  deviceId: number;
  /** 32 uppercase hex digits; "" when the envelope did not decode. */
  messageId: string;
  sender: string;
  senderDevice: number;
  reason: DiscardReason;
  /** What the decryptor or decoder said, for the test's failure message. */
  detail: string;
  discardedAt: number;
}

type NewDiscarded = Omit<DiscardedEnvelope, "seq" | "discardedAt">;

interface Row {
  seq: number;
  e164: string;
  device_id: number;
  message_id: string;
  sender: string;
  sender_device: number;
  reason: DiscardReason;
  detail: string;
  discarded_at: number;
}

/** Everything but a redelivery is a message its user will never see. */
export const isLoss = (d: Pick<DiscardedEnvelope, "reason">) => d.reason !== "redelivered";

export class DiscardedStore {
  constructor(private readonly db: Db) {}

  /** Inserts inside the caller's transaction, if any. */
  add(d: NewDiscarded): void {
    this.db
      .prepare("INSERT INTO sim_discarded (e164, device_id, message_id, sender, sender_device, reason, detail, discarded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(d.e164, d.deviceId, d.messageId, d.sender, d.senderDevice, d.reason, d.detail.slice(0, 1000), Date.now());
  }

  /** All users' discards after `afterSeq`, oldest first; or one user's. */
  list(e164?: string, afterSeq = 0, limit = 10_000): DiscardedEnvelope[] {
    const rows = (
      e164 === undefined
        ? this.db.prepare("SELECT * FROM sim_discarded WHERE seq > ? ORDER BY seq LIMIT ?").all(afterSeq, limit)
        : this.db.prepare("SELECT * FROM sim_discarded WHERE e164 = ? AND seq > ? ORDER BY seq LIMIT ?").all(e164, afterSeq, limit)
    ) as Row[];
    return rows.map((r) => ({
      seq: r.seq,
      e164: r.e164,
      deviceId: r.device_id,
      messageId: r.message_id,
      sender: r.sender,
      senderDevice: r.sender_device,
      reason: r.reason,
      detail: r.detail,
      discardedAt: r.discarded_at,
    }));
  }
}
