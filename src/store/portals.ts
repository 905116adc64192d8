// Portals: one Matrix room per (Matrix user, remote user).
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface PortalRow {
  matrixUser: string;
  remoteUri: string;
  roomId: string | null;
  encrypted: boolean;
}

export class PortalStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(matrixUser: string, remoteUri: string): Promise<PortalRow | undefined> {
    const r = await this.db.get("SELECT * FROM portals WHERE matrix_user = ? AND remote_uri = ?", [matrixUser, remoteUri]);
    return r && toPortal(r);
  }

  async byRoom(roomId: string): Promise<PortalRow | undefined> {
    const r = await this.db.get("SELECT * FROM portals WHERE room_id = ?", [roomId]);
    return r && toPortal(r);
  }

  async forUser(matrixUser: string): Promise<PortalRow[]> {
    return (await this.db.all("SELECT * FROM portals WHERE matrix_user = ? ORDER BY created_at", [matrixUser])).map(toPortal);
  }

  /** Every user's portal with this contact (the contact's profile shows in all of them). */
  async forContact(remoteUri: string): Promise<PortalRow[]> {
    return (await this.db.all("SELECT * FROM portals WHERE remote_uri = ? AND room_id IS NOT NULL", [remoteUri])).map(toPortal);
  }

  /** Every portal that has a room now. */
  async withRooms(): Promise<(PortalRow & { roomId: string })[]> {
    return (await this.db.all("SELECT * FROM portals WHERE room_id IS NOT NULL ORDER BY created_at")).map(toPortal) as (PortalRow & { roomId: string })[];
  }

  async upsert(p: PortalRow, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO portals (matrix_user, remote_uri, room_id, encrypted, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(matrix_user, remote_uri) DO UPDATE SET room_id = excluded.room_id, encrypted = excluded.encrypted`,
      [p.matrixUser, p.remoteUri, p.roomId, p.encrypted ? 1 : 0, now],
    );
  }

  /** The user left: the next message recreates the room instead of writing into a dead one. */
  async forgetRoom(roomId: string): Promise<void> {
    await this.db.run("UPDATE portals SET room_id = NULL WHERE room_id = ?", [roomId]);
  }
}

function toPortal(r: SqlRow): PortalRow {
  return {
    matrixUser: r.matrix_user as string,
    remoteUri: r.remote_uri as string,
    roomId: (r.room_id as string | null) ?? null,
    encrypted: r.encrypted === 1,
  };
}
