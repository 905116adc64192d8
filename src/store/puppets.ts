// Puppets: the Matrix users that stand for remote phone-number users.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

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
  constructor(private readonly db: SqlDatabase) {}

  async get(e164: string): Promise<PuppetRow | undefined> {
    const r = await this.db.get("SELECT * FROM puppets WHERE e164 = ?", [e164]);
    return r && toPuppet(r);
  }

  async byUserId(userId: string): Promise<PuppetRow | undefined> {
    const r = await this.db.get("SELECT * FROM puppets WHERE user_id = ?", [userId]);
    return r && toPuppet(r);
  }

  async upsert(p: PuppetRow, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO puppets (e164, user_id, display_name, avatar_mxc, avatar_remote_id, registered, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(e164) DO UPDATE SET user_id = excluded.user_id, display_name = excluded.display_name,
         avatar_mxc = excluded.avatar_mxc, avatar_remote_id = excluded.avatar_remote_id, registered = excluded.registered,
         updated_at = excluded.updated_at`,
      [p.e164, p.userId, p.displayName, p.avatarMxc, p.avatarRemoteId ?? null, p.registered ? 1 : 0, now],
    );
  }
}

function toPuppet(r: SqlRow): PuppetRow {
  return {
    e164: r.e164 as string,
    userId: r.user_id as string,
    displayName: (r.display_name as string | null) ?? null,
    avatarMxc: (r.avatar_mxc as string | null) ?? null,
    avatarRemoteId: (r.avatar_remote_id as string | null) ?? null,
    registered: r.registered === 1,
  };
}
