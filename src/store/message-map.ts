// Matrix event ID <-> interop message ID, per chat.
import type { SqliteDb } from "./database.js";

export interface MappedMessage {
  matrixUser: string;
  remoteUri: string;
  messageId: string;
  roomId: string;
  eventId: string;
  direction: "in" | "out";
  sender: string;
  timestamp: number;
}

export class MessageMapStore {
  constructor(private readonly db: SqliteDb) {}

  put(m: MappedMessage): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO message_map (matrix_user, remote_uri, message_id, room_id, event_id, direction, sender, timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.matrixUser, m.remoteUri, m.messageId, m.roomId, m.eventId, m.direction, m.sender, m.timestamp);
  }

  byMessageId(matrixUser: string, remoteUri: string, messageId: string): MappedMessage | undefined {
    const r = this.db
      .prepare("SELECT * FROM message_map WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?")
      .get(matrixUser, remoteUri, messageId) as Record<string, unknown> | undefined;
    return r && toMapped(r);
  }

  byEventId(roomId: string, eventId: string): MappedMessage | undefined {
    const r = this.db.prepare("SELECT * FROM message_map WHERE room_id = ? AND event_id = ?").get(roomId, eventId) as
      | Record<string, unknown>
      | undefined;
    return r && toMapped(r);
  }

  /** Messages of one direction in a room up to (and including) a timestamp, newest first. */
  upTo(roomId: string, direction: "in" | "out", timestamp: number, limit = 100): MappedMessage[] {
    return (
      this.db
        .prepare("SELECT * FROM message_map WHERE room_id = ? AND direction = ? AND timestamp <= ? ORDER BY timestamp DESC LIMIT ?")
        .all(roomId, direction, timestamp, limit) as Record<string, unknown>[]
    ).map(toMapped);
  }
}

function toMapped(r: Record<string, unknown>): MappedMessage {
  return {
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    messageId: r.message_id as string,
    roomId: r.room_id as string,
    eventId: r.event_id as string,
    direction: r.direction as "in" | "out",
    sender: r.sender as string,
    timestamp: r.timestamp as number,
  };
}
