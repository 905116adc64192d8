// Disappearing messages: each chat's timer, and the Matrix events the bridge must redact when their time is up.
// The schedule is durable, so a restart neither forgets a redaction nor lets an expired message stay.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface ChatTimer {
  /** 0: messages do not disappear. */
  seconds: number;
  /** When it was set (ms), to let the later of two changes win. */
  setAt: number;
}

export interface ExpiringEvent {
  roomId: string;
  eventId: string;
  /** Who redacts it: a user with power to redact in the room (the contact's puppet). */
  redactAs: string;
  /** When it disappears (ms). */
  expiresAt: number;
  /** Failed redaction attempts so far. */
  attempts: number;
}

export class DisappearingStore {
  constructor(private readonly db: SqlDatabase) {}

  async timer(matrixUser: string, remoteUri: string): Promise<ChatTimer> {
    const r = await this.db.get<{ seconds: number; set_at: number }>("SELECT seconds, set_at FROM disappearing_timers WHERE matrix_user = ? AND remote_uri = ?", [matrixUser, remoteUri]);
    return r ? { seconds: r.seconds, setAt: r.set_at } : { seconds: 0, setAt: 0 };
  }

  async setTimer(matrixUser: string, remoteUri: string, timer: ChatTimer): Promise<void> {
    await this.db.run(
      `INSERT INTO disappearing_timers (matrix_user, remote_uri, seconds, set_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (matrix_user, remote_uri) DO UPDATE SET seconds = excluded.seconds, set_at = excluded.set_at`,
      [matrixUser, remoteUri, timer.seconds, timer.setAt],
    );
  }

  /** Schedules the event's redaction; scheduling it again keeps the earlier time. */
  async schedule(e: Omit<ExpiringEvent, "attempts">): Promise<void> {
    await this.db.run(
      `INSERT INTO disappearing_events (room_id, event_id, redact_as, expires_at, attempts) VALUES (?, ?, ?, ?, 0)
       ON CONFLICT (room_id, event_id) DO UPDATE SET expires_at = excluded.expires_at
       WHERE disappearing_events.expires_at > excluded.expires_at`,
      [e.roomId, e.eventId, e.redactAs, e.expiresAt],
    );
  }

  /** Events whose time has come, earliest first. */
  async due(now: number, limit: number): Promise<ExpiringEvent[]> {
    const rows = await this.db.all("SELECT * FROM disappearing_events WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", [now, limit]);
    return rows.map(toEvent);
  }

  /** When the next event is due, or undefined when none is scheduled. */
  async nextDue(): Promise<number | undefined> {
    const r = await this.db.get<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM disappearing_events");
    return r?.t ?? undefined;
  }

  async done(roomId: string, eventId: string): Promise<void> {
    await this.db.run("DELETE FROM disappearing_events WHERE room_id = ? AND event_id = ?", [roomId, eventId]);
  }

  /** A redaction failed for now: try again at `retryAt`. */
  async retryLater(roomId: string, eventId: string, retryAt: number): Promise<void> {
    await this.db.run("UPDATE disappearing_events SET expires_at = ?, attempts = attempts + 1 WHERE room_id = ? AND event_id = ?", [retryAt, roomId, eventId]);
  }
}

function toEvent(r: SqlRow): ExpiringEvent {
  return {
    roomId: r.room_id as string,
    eventId: r.event_id as string,
    redactAs: r.redact_as as string,
    expiresAt: r.expires_at as number,
    attempts: r.attempts as number,
  };
}
