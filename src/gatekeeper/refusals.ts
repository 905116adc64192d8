// Envelopes a provider took off its queue without delivering them (an Ack with `refused`): kept so the sender can be
// told, as it would be told of a refusal at send time. For simulated senders the admin API lists them.
import { ErrorCode, type Envelope } from "../protocol/gen/interop_pb.js";
import { messageIdToString } from "../protocol/message-id.js";
import type { Db } from "./db.js";

export interface DeliveryRefusal {
  seq: number;
  /** 32 uppercase hex digits, as message IDs appear inside content. */
  messageId: string;
  sender: string;
  recipient: string;
  recipientDevice: number;
  providerId: string;
  /** The ErrorCode's name, e.g. UNKNOWN_USER. */
  code: string;
  detail: string;
  refusedAt: number;
}

const DETAIL_MAX = 300;

export class DeliveryRefusals {
  constructor(private readonly db: Db) {}

  record(providerId: string, envelope: Envelope, code: ErrorCode, detail: string, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO delivery_refusals (message_id, sender, recipient, recipient_device, provider_id, code, detail, refused_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(messageIdToString(envelope.id), envelope.sender, envelope.recipient, envelope.recipientDevice, providerId, ErrorCode[code] ?? "INTERNAL", detail.slice(0, DETAIL_MAX), now);
  }

  /** What the sender's messages met, oldest first. */
  forSender(senderUri: string, afterSeq = 0, limit = 1000): DeliveryRefusal[] {
    const rows = this.db
      .prepare("SELECT * FROM delivery_refusals WHERE sender = ? AND seq > ? ORDER BY seq LIMIT ?")
      .all(senderUri, afterSeq, limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      seq: r.seq as number,
      messageId: r.message_id as string,
      sender: r.sender as string,
      recipient: r.recipient as string,
      recipientDevice: r.recipient_device as number,
      providerId: r.provider_id as string,
      code: r.code as string,
      detail: r.detail as string,
      refusedAt: r.refused_at as number,
    }));
  }
}
