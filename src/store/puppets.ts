// Puppets: the Matrix users that stand for remote phone-number users.
import type { SqliteDb } from "./database.js";

export interface PuppetRow {
  e164: string;
  userId: string;
  displayName: string | null;
  avatarMxc: string | null;
  /** Remote media ID the avatar was made from. */
  avatarRemoteId?: string | null;
  registered: boolean;
}

export class PuppetStore {
  constructor(private readonly db: SqliteDb) {}

  get(e164: string): PuppetRow | undefined {
    const r = this.db.prepare("SELECT * FROM puppets WHERE e164 = ?").get(e164) as Record<string, unknown> | undefined;
    return r && toPuppet(r);
  }

  byUserId(userId: string): PuppetRow | undefined {
    const r = this.db.prepare("SELECT * FROM puppets WHERE user_id = ?").get(userId) as Record<string, unknown> | undefined;
    return r && toPuppet(r);
  }

  upsert(p: PuppetRow, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO puppets (e164, user_id, display_name, avatar_mxc, avatar_remote_id, registered, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(e164) DO UPDATE SET user_id = excluded.user_id, display_name = excluded.display_name,
           avatar_mxc = excluded.avatar_mxc, avatar_remote_id = excluded.avatar_remote_id, registered = excluded.registered,
           updated_at = excluded.updated_at`,
      )
      .run(p.e164, p.userId, p.displayName, p.avatarMxc, p.avatarRemoteId ?? null, p.registered ? 1 : 0, now);
  }
}

function toPuppet(r: Record<string, unknown>): PuppetRow {
  return {
    e164: r.e164 as string,
    userId: r.user_id as string,
    displayName: (r.display_name as string | null) ?? null,
    avatarMxc: (r.avatar_mxc as string | null) ?? null,
    avatarRemoteId: (r.avatar_remote_id as string | null) ?? null,
    registered: r.registered === 1,
  };
}
