// Reactions: one per reactor per message (WhatsApp's rule), with the Matrix event that shows it.
import type { SqliteDb } from "./database.js";

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
  constructor(private readonly db: SqliteDb) {}

  get(matrixUser: string, remoteUri: string, targetMessageId: string, reactor: string): ReactionRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM reactions WHERE matrix_user = ? AND remote_uri = ? AND target_message_id = ? AND reactor = ?")
      .get(matrixUser, remoteUri, targetMessageId, reactor) as Record<string, unknown> | undefined;
    return r && toRow(r);
  }

  byEvent(roomId: string, eventId: string): ReactionRow | undefined {
    const r = this.db.prepare("SELECT * FROM reactions WHERE room_id = ? AND event_id = ?").get(roomId, eventId) as Record<string, unknown> | undefined;
    return r && toRow(r);
  }

  put(row: ReactionRow): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO reactions (matrix_user, remote_uri, target_message_id, reactor, emoji, room_id, event_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(row.matrixUser, row.remoteUri, row.targetMessageId, row.reactor, row.emoji, row.roomId, row.eventId);
  }

  remove(matrixUser: string, remoteUri: string, targetMessageId: string, reactor: string): void {
    this.db
      .prepare("DELETE FROM reactions WHERE matrix_user = ? AND remote_uri = ? AND target_message_id = ? AND reactor = ?")
      .run(matrixUser, remoteUri, targetMessageId, reactor);
  }
}

/** How far the Matrix user's read receipts were passed on, per portal room. */
export class ReadMarkerStore {
  constructor(private readonly db: SqliteDb) {}

  get(roomId: string): number {
    const r = this.db.prepare("SELECT read_up_to FROM read_markers WHERE room_id = ?").get(roomId) as { read_up_to: number } | undefined;
    return r?.read_up_to ?? 0;
  }

  set(roomId: string, upTo: number): void {
    this.db
      .prepare("INSERT INTO read_markers (room_id, read_up_to) VALUES (?, ?) ON CONFLICT(room_id) DO UPDATE SET read_up_to = max(read_up_to, excluded.read_up_to)")
      .run(roomId, upTo);
  }
}

function toRow(r: Record<string, unknown>): ReactionRow {
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
