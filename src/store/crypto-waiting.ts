// Encrypted Matrix events that arrived before their room key. They wait here (still encrypted) and go back into the
// inbound queue when the key arrives, or are reported to the sender once waiting longer makes no sense.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface WaitingEvent {
  roomId: string;
  eventId: string;
  sessionId: string;
  decryptAs: string;
  /** The event as received: as the inbound queue held it (JSON). */
  payload: unknown;
  firstSeenAt: number;
  /** The room's order among its waiting events. */
  position: number;
  /** When it was put back into the queue to take its turn; null while it waits. */
  releasedAt: number | null;
}

/** The session of an event that waits only for an earlier one of its room (it may well be decryptable). */
export const BEHIND = "";

export class CryptoWaitingStore {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Parks an event at the end of its room's waiting events. A second park of the same event keeps its place, the time
   * it was first seen and whether it was let go, and takes the session (one that waited behind now waits for its key).
   */
  async park(e: Omit<WaitingEvent, "firstSeenAt" | "position" | "releasedAt">, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO crypto_waiting_events (room_id, event_id, session_id, decrypt_as, payload, first_seen_at, position)
       VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM crypto_waiting_events WHERE room_id = ?))
       ON CONFLICT(room_id, event_id) DO UPDATE SET session_id = excluded.session_id`,
      [e.roomId, e.eventId, e.sessionId, e.decryptAs, JSON.stringify(e.payload), now, e.roomId],
    );
  }

  /** The room's waiting events in the room's order. */
  async inRoom(roomId: string): Promise<WaitingEvent[]> {
    return (await this.db.all("SELECT * FROM crypto_waiting_events WHERE room_id = ? ORDER BY position, first_seen_at, event_id", [roomId])).map(toEvent);
  }

  async markReleased(roomId: string, eventId: string, now = Date.now()): Promise<void> {
    await this.db.run("UPDATE crypto_waiting_events SET released_at = ? WHERE room_id = ? AND event_id = ?", [now, roomId, eventId]);
  }

  async forSession(roomId: string, sessionId: string): Promise<WaitingEvent[]> {
    return (await this.db.all("SELECT * FROM crypto_waiting_events WHERE room_id = ? AND session_id = ? ORDER BY first_seen_at", [roomId, sessionId])).map(toEvent);
  }

  async all(): Promise<WaitingEvent[]> {
    return (await this.db.all("SELECT * FROM crypto_waiting_events ORDER BY first_seen_at")).map(toEvent);
  }

  /** When the event was first parked, if it is waiting. */
  async firstSeen(roomId: string, eventId: string): Promise<number | undefined> {
    const r = await this.db.get<{ first_seen_at: number }>("SELECT first_seen_at FROM crypto_waiting_events WHERE room_id = ? AND event_id = ?", [roomId, eventId]);
    return r?.first_seen_at;
  }

  async remove(roomId: string, eventId: string): Promise<void> {
    await this.db.run("DELETE FROM crypto_waiting_events WHERE room_id = ? AND event_id = ?", [roomId, eventId]);
  }

  async count(): Promise<number> {
    return (await this.db.get<{ n: number }>("SELECT count(*) AS n FROM crypto_waiting_events"))!.n;
  }

  /**
   * Whether the inbound queue still holds crypto items (to-device messages: room keys) older than `seq`. An event
   * that cannot be decrypted yet waits for those first, so a key in the same transaction is never missed.
   */
  async cryptoItemsBefore(seq: number, cryptoQueueKey: string): Promise<boolean> {
    return (await this.db.get("SELECT 1 AS one FROM matrix_inbound WHERE room_id = ? AND seq < ? LIMIT 1", [cryptoQueueKey, seq])) !== undefined;
  }
}

function toEvent(r: SqlRow): WaitingEvent {
  return {
    roomId: r.room_id as string,
    eventId: r.event_id as string,
    sessionId: r.session_id as string,
    decryptAs: r.decrypt_as as string,
    payload: JSON.parse(r.payload as string) as unknown,
    firstSeenAt: Number(r.first_seen_at),
    position: Number(r.position),
    releasedAt: r.released_at === null || r.released_at === undefined ? null : Number(r.released_at),
  };
}
