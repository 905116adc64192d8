// What simulated users received, decrypted, for the admin list and the live watch stream. Rows are written in the
// same transaction as the ratchet step that decrypted them.
import { EventEmitter } from "node:events";
import type { Db } from "../db.js";
import type { ReceivedMedia } from "./media.js";

export type { ReceivedMedia };

export interface ReceivedMessage {
  seq: number;
  e164: string;
  deviceId: number;
  /** 32 uppercase hex digits, as message IDs appear inside content. */
  messageId: string;
  sender: string;
  senderDevice: number;
  timestampMs: number;
  /** The decoded Content as protobuf JSON, or `{ "undecryptable": reason }` when decryption failed. */
  content: Record<string, unknown>;
  /** For a media message: whether its file could be fetched and verified, with the decrypted file's hash. */
  media?: ReceivedMedia;
  receivedAt: number;
}

type NewReceived = Omit<ReceivedMessage, "seq" | "receivedAt">;

interface Row {
  seq: number;
  e164: string;
  device_id: number;
  message_id: string;
  sender: string;
  sender_device: number;
  timestamp_ms: number;
  content: string;
  media: string | null;
  received_at: number;
}

export class ReceivedStore {
  private readonly events = new EventEmitter();

  constructor(private readonly db: Db) {
    this.events.setMaxListeners(0);
  }

  /** Inserts inside the caller's transaction; returns undefined for a duplicate (redelivered) message. Call
   * `announce` after the transaction committed. */
  add(m: NewReceived): ReceivedMessage | undefined {
    const receivedAt = Date.now();
    const row = this.db
      .prepare(
        `INSERT OR IGNORE INTO sim_received (e164, device_id, message_id, sender, sender_device, timestamp_ms, content, media, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      )
      .get(m.e164, m.deviceId, m.messageId, m.sender, m.senderDevice, m.timestampMs, JSON.stringify(m.content), m.media ? JSON.stringify(m.media) : null, receivedAt) as { seq: number } | undefined;
    return row && { ...m, seq: row.seq, receivedAt };
  }

  announce(m: ReceivedMessage): void {
    this.events.emit(m.e164, m);
  }

  list(e164: string, afterSeq = 0, limit = 1000): ReceivedMessage[] {
    const rows = this.db.prepare("SELECT * FROM sim_received WHERE e164 = ? AND seq > ? ORDER BY seq LIMIT ?").all(e164, afterSeq, limit) as Row[];
    return rows.map(toMessage);
  }

  /** Whether the user received a message with this content id (to tell own messages from others' in replies). */
  findByMessageId(e164: string, messageId: string): ReceivedMessage | undefined {
    const row = this.db.prepare("SELECT * FROM sim_received WHERE e164 = ? AND message_id = ? ORDER BY seq LIMIT 1").get(e164, messageId) as Row | undefined;
    return row && toMessage(row);
  }

  watch(e164: string, listener: (m: ReceivedMessage) => void): () => void {
    this.events.on(e164, listener);
    return () => this.events.off(e164, listener);
  }
}

function toMessage(r: Row): ReceivedMessage {
  return {
    seq: r.seq,
    e164: r.e164,
    deviceId: r.device_id,
    messageId: r.message_id,
    sender: r.sender,
    senderDevice: r.sender_device,
    timestampMs: r.timestamp_ms,
    content: JSON.parse(r.content) as Record<string, unknown>,
    ...(r.media ? { media: JSON.parse(r.media) as ReceivedMedia } : {}),
    receivedAt: r.received_at,
  };
}
