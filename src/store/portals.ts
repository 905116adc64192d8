// Portals: one Matrix room per (Matrix user, remote user).
import type { SqliteDb } from "./database.js";

export interface PortalRow {
  matrixUser: string;
  remoteUri: string;
  roomId: string | null;
  encrypted: boolean;
}

export class PortalStore {
  constructor(private readonly db: SqliteDb) {}

  get(matrixUser: string, remoteUri: string): PortalRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM portals WHERE matrix_user = ? AND remote_uri = ?")
      .get(matrixUser, remoteUri) as Record<string, unknown> | undefined;
    return r && toPortal(r);
  }

  byRoom(roomId: string): PortalRow | undefined {
    const r = this.db.prepare("SELECT * FROM portals WHERE room_id = ?").get(roomId) as Record<string, unknown> | undefined;
    return r && toPortal(r);
  }

  forUser(matrixUser: string): PortalRow[] {
    return (this.db.prepare("SELECT * FROM portals WHERE matrix_user = ? ORDER BY created_at").all(matrixUser) as Record<string, unknown>[]).map(toPortal);
  }

  upsert(p: PortalRow, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO portals (matrix_user, remote_uri, room_id, encrypted, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(matrix_user, remote_uri) DO UPDATE SET room_id = excluded.room_id, encrypted = excluded.encrypted`,
      )
      .run(p.matrixUser, p.remoteUri, p.roomId, p.encrypted ? 1 : 0, now);
  }

  /** The user left: the next message recreates the room instead of writing into a dead one. */
  forgetRoom(roomId: string): void {
    this.db.prepare("UPDATE portals SET room_id = NULL WHERE room_id = ?").run(roomId);
  }
}

function toPortal(r: Record<string, unknown>): PortalRow {
  return {
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    roomId: (r.room_id as string | null) ?? null,
    encrypted: r.encrypted === 1,
  };
}
