// Reactions: one per reactor per message (WhatsApp's rule), with the Matrix event that shows it.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface ReactionRow {
  matrixUser: string;
  remoteUri: string;
  targetMessageId: string;
  reactor: string;
  emoji: string;
  roomId: string;
  eventId: string;
}

export class ReactionStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(matrixUser: string, remoteUri: string, targetMessageId: string, reactor: string): Promise<ReactionRow | undefined> {
    const r = await this.db.get("SELECT * FROM reactions WHERE matrix_user = ? AND remote_uri = ? AND target_message_id = ? AND reactor = ?", [
      matrixUser,
      remoteUri,
      targetMessageId,
      reactor,
    ]);
    return r && toRow(r);
  }

  async byEvent(roomId: string, eventId: string): Promise<ReactionRow | undefined> {
    const r = await this.db.get("SELECT * FROM reactions WHERE room_id = ? AND event_id = ?", [roomId, eventId]);
    return r && toRow(r);
  }

  /** Replaces the reactor's previous reaction to the message (and frees the event it was shown by). */
  put(row: ReactionRow): Promise<void> {
    return this.db.transaction(async () => {
      await this.db.run("DELETE FROM reactions WHERE room_id = ? AND event_id = ?", [row.roomId, row.eventId]);
      await this.db.run(
        `INSERT INTO reactions (matrix_user, remote_uri, target_message_id, reactor, emoji, room_id, event_id) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (matrix_user, remote_uri, target_message_id, reactor)
         DO UPDATE SET emoji = excluded.emoji, room_id = excluded.room_id, event_id = excluded.event_id`,
        [row.matrixUser, row.remoteUri, row.targetMessageId, row.reactor, row.emoji, row.roomId, row.eventId],
      );
    });
  }

  async remove(matrixUser: string, remoteUri: string, targetMessageId: string, reactor: string): Promise<void> {
    await this.db.run("DELETE FROM reactions WHERE matrix_user = ? AND remote_uri = ? AND target_message_id = ? AND reactor = ?", [
      matrixUser,
      remoteUri,
      targetMessageId,
      reactor,
    ]);
  }
}

/** How far the Matrix user's read receipts were passed on, per portal room. */
export class ReadMarkerStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(roomId: string): Promise<number> {
    const r = await this.db.get<{ read_up_to: number }>("SELECT read_up_to FROM read_markers WHERE room_id = ?", [roomId]);
    return r?.read_up_to ?? 0;
  }

  /** Moves the marker forward only. */
  async set(roomId: string, upTo: number): Promise<void> {
    await this.db.run(
      `INSERT INTO read_markers (room_id, read_up_to) VALUES (?, ?)
       ON CONFLICT(room_id) DO UPDATE SET read_up_to = excluded.read_up_to WHERE read_markers.read_up_to < excluded.read_up_to`,
      [roomId, upTo],
    );
  }
}

function toRow(r: SqlRow): ReactionRow {
  return {
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    targetMessageId: r.target_message_id as string,
    reactor: r.reactor as string,
    emoji: r.emoji as string,
    roomId: r.room_id as string,
    eventId: r.event_id as string,
  };
}
