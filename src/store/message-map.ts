// Matrix event ID <-> interop message ID, per chat.
//
// Message IDs are chosen by the sender, so a remote can send a message under the ID of one the user sent (or of an
// earlier one of its own). The first mapping of an ID stays: replacing it would let the remote re-point the user's
// replies, reactions and edits at an event of its choosing.
import type { SqliteDb } from "./database.js";

/** Where a refused mapping is reported (the store has no logger of its own). */
export interface MappingLog {
  warn(details: object, message: string): void;
}

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
  constructor(
    private readonly db: SqliteDb,
    private readonly log?: MappingLog,
  ) {}

  /**
   * Maps a message, unless its message ID (in this chat) or its event is mapped already: then the first mapping is
   * kept and false returned. Putting the same mapping again (a retried post) is not a conflict and returns true.
   */
  put(m: MappedMessage): boolean {
    const inserted = this.db
      .prepare(
        `INSERT INTO message_map (matrix_user, remote_uri, message_id, room_id, event_id, direction, sender, timestamp)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      )
      .run(m.matrixUser, m.remoteUri, m.messageId, m.roomId, m.eventId, m.direction, m.sender, m.timestamp);
    if (inserted.changes > 0) return true;
    const kept = this.byMessageId(m.matrixUser, m.remoteUri, m.messageId) ?? this.byEventId(m.roomId, m.eventId);
    if (kept && kept.messageId === m.messageId && kept.roomId === m.roomId && kept.eventId === m.eventId && kept.direction === m.direction) return true;
    this.log?.warn(
      { messageId: m.messageId, direction: m.direction, keptMessageId: kept?.messageId, keptDirection: kept?.direction, roomId: m.roomId },
      "a message reuses the ID (or event) of one already mapped; keeping the first mapping",
    );
    return false;
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
