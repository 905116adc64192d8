// Matrix event ID <-> interop message ID, per chat.
//
// Message IDs are chosen by the sender, so a remote can send a message under the ID of one the user sent (or of an
// earlier one of its own). The first mapping of an ID stays: replacing it would let the remote re-point the user's
// replies, reactions and edits at an event of its choosing.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

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
    private readonly db: SqlDatabase,
    private readonly log?: MappingLog,
  ) {}

  /**
   * Maps a message, unless its message ID (in this chat) or its event is mapped already: then the first mapping is
   * kept and false returned. Putting the same mapping again (a retried post) is not a conflict and returns true.
   */
  async put(m: MappedMessage): Promise<boolean> {
    const inserted = await this.db.run(
      `INSERT INTO message_map (matrix_user, remote_uri, message_id, room_id, event_id, direction, sender, timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [m.matrixUser, m.remoteUri, m.messageId, m.roomId, m.eventId, m.direction, m.sender, m.timestamp],
    );
    if (inserted.changes > 0) return true;
    const kept = (await this.byMessageId(m.matrixUser, m.remoteUri, m.messageId)) ?? (await this.byEventId(m.roomId, m.eventId));
    if (kept && kept.messageId === m.messageId && kept.roomId === m.roomId && kept.eventId === m.eventId && kept.direction === m.direction) return true;
    this.log?.warn(
      { messageId: m.messageId, direction: m.direction, keptMessageId: kept?.messageId, keptDirection: kept?.direction, roomId: m.roomId },
      "a message reuses the ID (or event) of one already mapped; keeping the first mapping",
    );
    return false;
  }

  async byMessageId(matrixUser: string, remoteUri: string, messageId: string): Promise<MappedMessage | undefined> {
    const r = await this.db.get("SELECT * FROM message_map WHERE matrix_user = ? AND remote_uri = ? AND message_id = ?", [matrixUser, remoteUri, messageId]);
    return r && toMapped(r);
  }

  async byEventId(roomId: string, eventId: string): Promise<MappedMessage | undefined> {
    const r = await this.db.get("SELECT * FROM message_map WHERE room_id = ? AND event_id = ?", [roomId, eventId]);
    return r && toMapped(r);
  }

  /** Messages of one direction in a room up to (and including) a timestamp, newest first. */
  async upTo(roomId: string, direction: "in" | "out", timestamp: number, limit = 100): Promise<MappedMessage[]> {
    const rows = await this.db.all("SELECT * FROM message_map WHERE room_id = ? AND direction = ? AND timestamp <= ? ORDER BY timestamp DESC LIMIT ?", [
      roomId,
      direction,
      timestamp,
      limit,
    ]);
    return rows.map(toMapped);
  }
}

function toMapped(r: SqlRow): MappedMessage {
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
