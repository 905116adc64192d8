// Matrix users of the bridge and their identity on the interop network.
import type { SqliteDb } from "./database.js";

export interface BridgeUserRow {
  userId: string;
  interopUri: string;
  managementRoom: string | null;
  keysUploadedAt: number | null;
}

export class BridgeUserStore {
  constructor(private readonly db: SqliteDb) {}

  get(userId: string): BridgeUserRow | undefined {
    const r = this.db.prepare("SELECT * FROM bridge_users WHERE user_id = ?").get(userId) as Record<string, unknown> | undefined;
    return r && toUser(r);
  }

  byUri(uri: string): BridgeUserRow | undefined {
    const r = this.db.prepare("SELECT * FROM bridge_users WHERE interop_uri = ?").get(uri) as Record<string, unknown> | undefined;
    return r && toUser(r);
  }

  byManagementRoom(roomId: string): BridgeUserRow | undefined {
    const r = this.db.prepare("SELECT * FROM bridge_users WHERE management_room = ?").get(roomId) as Record<string, unknown> | undefined;
    return r && toUser(r);
  }

  all(): BridgeUserRow[] {
    return (this.db.prepare("SELECT * FROM bridge_users ORDER BY created_at").all() as Record<string, unknown>[]).map(toUser);
  }

  ensure(userId: string, interopUri: string, now = Date.now()): BridgeUserRow {
    this.db
      .prepare("INSERT OR IGNORE INTO bridge_users (user_id, interop_uri, created_at) VALUES (?, ?, ?)")
      .run(userId, interopUri, now);
    return this.get(userId)!;
  }

  setManagementRoom(userId: string, roomId: string | null): void {
    this.db.prepare("UPDATE bridge_users SET management_room = ? WHERE user_id = ?").run(roomId, userId);
  }

  markKeysUploaded(userId: string, at = Date.now()): void {
    this.db.prepare("UPDATE bridge_users SET keys_uploaded_at = ? WHERE user_id = ?").run(at, userId);
  }
}

function toUser(r: Record<string, unknown>): BridgeUserRow {
  return {
    userId: r.user_id as string,
    interopUri: r.interop_uri as string,
    managementRoom: (r.management_room as string | null) ?? null,
    keysUploadedAt: (r.keys_uploaded_at as number | null) ?? null,
  };
}
