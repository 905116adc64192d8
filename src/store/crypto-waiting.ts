// Encrypted Matrix events that arrived before their room key. They wait here (still encrypted) and go back into the
// inbound queue when the key arrives, or are reported to the sender once waiting longer makes no sense.
import type { SqliteDb } from "./database.js";

export interface WaitingEvent {
  roomId: string;
  eventId: string;
  sessionId: string;
  decryptAs: string;
  /** The event as received: as the inbound queue held it (JSON). */
  payload: unknown;
  firstSeenAt: number;
}

export class CryptoWaitingStore {
  constructor(private readonly db: SqliteDb) {}

  /** Parks an event; a second park of the same event keeps the time it was first seen. */
  park(e: Omit<WaitingEvent, "firstSeenAt">, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO crypto_waiting_events (room_id, event_id, session_id, decrypt_as, payload, first_seen_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(room_id, event_id) DO NOTHING`,
      )
      .run(e.roomId, e.eventId, e.sessionId, e.decryptAs, JSON.stringify(e.payload), now);
  }

  forSession(roomId: string, sessionId: string): WaitingEvent[] {
    return (
      this.db.prepare("SELECT * FROM crypto_waiting_events WHERE room_id = ? AND session_id = ? ORDER BY first_seen_at").all(roomId, sessionId) as Record<string, unknown>[]
    ).map(toEvent);
  }

  all(): WaitingEvent[] {
    return (this.db.prepare("SELECT * FROM crypto_waiting_events ORDER BY first_seen_at").all() as Record<string, unknown>[]).map(toEvent);
  }

  /** When the event was first parked, if it is waiting. */
  firstSeen(roomId: string, eventId: string): number | undefined {
    const r = this.db.prepare("SELECT first_seen_at FROM crypto_waiting_events WHERE room_id = ? AND event_id = ?").get(roomId, eventId) as { first_seen_at: number } | undefined;
    return r?.first_seen_at;
  }

  remove(roomId: string, eventId: string): void {
    this.db.prepare("DELETE FROM crypto_waiting_events WHERE room_id = ? AND event_id = ?").run(roomId, eventId);
  }

  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM crypto_waiting_events").get() as { n: number }).n;
  }

  /**
   * Whether the inbound queue still holds crypto items (to-device messages: room keys) older than `seq`. An event
   * that cannot be decrypted yet waits for those first, so a key in the same transaction is never missed.
   */
  cryptoItemsBefore(seq: number, cryptoQueueKey: string): boolean {
    return this.db.prepare("SELECT 1 FROM matrix_inbound WHERE room_id = ? AND seq < ? LIMIT 1").get(cryptoQueueKey, seq) !== undefined;
  }
}

function toEvent(r: Record<string, unknown>): WaitingEvent {
  return {
    roomId: r.room_id as string,
    eventId: r.event_id as string,
    sessionId: r.session_id as string,
    decryptAs: r.decrypt_as as string,
    payload: JSON.parse(r.payload as string) as unknown,
    firstSeenAt: r.first_seen_at as number,
  };
}
