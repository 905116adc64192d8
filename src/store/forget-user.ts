// Forgetting a Matrix user's network side ("logout"): their interop identity (Signal keys, sessions, prekeys, by
// cascade), what waits in the queues for them, the message map, reactions, read markers, identity trust, message
// requests, disappearing timers, contacts, polls, votes and portal rows. The user's
// row stays (the management room, the space, who may reach them), marked as having no uploaded keys, so the next use
// makes a new identity. The flood-limit counts stay too: logging out and in again must not reset them.
import type { SqlDatabase } from "../sql/sql.js";

export class UserForgetting {
  constructor(private readonly db: SqlDatabase) {}

  /** Returns the user's interop URI, or undefined when the bridge does not know the user. */
  forget(userId: string): Promise<string | undefined> {
    return this.db.transaction(async () => {
      const row = await this.db.get<{ interop_uri: string }>("SELECT interop_uri FROM bridge_users WHERE user_id = ?", [userId]);
      if (!row) return undefined;
      await this.db.run("DELETE FROM signal_local_devices WHERE uri = ?", [row.interop_uri]);
      for (const table of ["read_markers", "disappearing_events", "excluded_devices_told"] as const) {
        await this.db.run(`DELETE FROM ${table} WHERE room_id IN (SELECT room_id FROM portals WHERE matrix_user = ? AND room_id IS NOT NULL)`, [userId]);
      }
      // What the user was told and verified of contacts' identities belongs to the identity that goes.
      const perUser = ["outbox", "inbox", "message_map", "reactions", "identity_trust", "message_request_items", "message_requests", "disappearing_timers", "user_contacts", "polls", "poll_votes", "portals"] as const;
      for (const table of perUser) {
        await this.db.run(`DELETE FROM ${table} WHERE matrix_user = ?`, [userId]);
      }
      await this.db.run("UPDATE bridge_users SET keys_uploaded_at = NULL WHERE user_id = ?", [userId]);
      return row.interop_uri;
    });
  }
}
