// Matrix users of the bridge and their identity on the interop network.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export interface BridgeUserRow {
  userId: string;
  interopUri: string;
  managementRoom: string | null;
  keysUploadedAt: number | null;
  /** The user's space of chats, if made. */
  spaceRoom: string | null;
  /** The user left their space: none is made again until they ask. */
  spaceDeclined: boolean;
  /** Who may reach them; null: the config's default. */
  reachable: string | null;
}

export class BridgeUserStore {
  constructor(private readonly db: SqlDatabase) {}

  async get(userId: string): Promise<BridgeUserRow | undefined> {
    const r = await this.db.get("SELECT * FROM bridge_users WHERE user_id = ?", [userId]);
    return r && toUser(r);
  }

  async byUri(uri: string): Promise<BridgeUserRow | undefined> {
    const r = await this.db.get("SELECT * FROM bridge_users WHERE interop_uri = ?", [uri]);
    return r && toUser(r);
  }

  async byManagementRoom(roomId: string): Promise<BridgeUserRow | undefined> {
    const r = await this.db.get("SELECT * FROM bridge_users WHERE management_room = ?", [roomId]);
    return r && toUser(r);
  }

  async all(): Promise<BridgeUserRow[]> {
    return (await this.db.all("SELECT * FROM bridge_users ORDER BY created_at")).map(toUser);
  }

  async ensure(userId: string, interopUri: string, now = Date.now()): Promise<BridgeUserRow> {
    // Read first: on every message the user is there already, and a read is cheaper than a write that does nothing.
    const known = await this.get(userId);
    if (known) return known;
    await this.db.run("INSERT INTO bridge_users (user_id, interop_uri, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [userId, interopUri, now]);
    return (await this.get(userId))!;
  }

  async setManagementRoom(userId: string, roomId: string | null): Promise<void> {
    await this.db.run("UPDATE bridge_users SET management_room = ? WHERE user_id = ?", [roomId, userId]);
  }

  async bySpace(roomId: string): Promise<BridgeUserRow | undefined> {
    const r = await this.db.get("SELECT * FROM bridge_users WHERE space_room = ?", [roomId]);
    return r && toUser(r);
  }

  async setSpace(userId: string, roomId: string | null, declined = false): Promise<void> {
    await this.db.run("UPDATE bridge_users SET space_room = ?, space_declined = ? WHERE user_id = ?", [roomId, declined ? 1 : 0, userId]);
  }

  async setReachable(userId: string, reachable: string | null): Promise<void> {
    await this.db.run("UPDATE bridge_users SET reachable = ? WHERE user_id = ?", [reachable, userId]);
  }

  async markKeysUploaded(userId: string, at = Date.now()): Promise<void> {
    await this.db.run("UPDATE bridge_users SET keys_uploaded_at = ? WHERE user_id = ?", [at, userId]);
  }
}

function toUser(r: SqlRow): BridgeUserRow {
  return {
    userId: r.user_id as string,
    interopUri: r.interop_uri as string,
    managementRoom: (r.management_room as string | null) ?? null,
    keysUploadedAt: (r.keys_uploaded_at as number | null) ?? null,
    spaceRoom: (r.space_room as string | null) ?? null,
    spaceDeclined: Number(r.space_declined ?? 0) === 1,
    reachable: (r.reachable as string | null) ?? null,
  };
}
