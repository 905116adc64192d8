// Notices for a provider (PrekeysLow, DevicesChanged), kept until the provider has read them. Only the latest notice
// of each kind per user matters (a device list replaces the one before, a count the count before), so a notice
// replaces its predecessor and takes a new, higher id: ids give the order they are sent in.
//
// The protocol has no acknowledgement for notices; the hub asks the provider's WebSocket for a pong after sending
// them (a WebSocket ping, answered by the provider's WebSocket library in order of arrival), and clears what was sent
// before it. A notice sent on a connection that dies before the pong goes out again on the next connection.
import type { Db } from "./db.js";

export type NoticeKind = "prekeys_low" | "devices_changed";

export interface PendingNotice {
  id: number;
  /** The encoded ServerFrame. */
  frame: Uint8Array;
}

export class ProviderNotices {
  constructor(private readonly db: Db) {}

  /** Stores (replacing the previous notice of this kind for this user) and returns its id. */
  record(providerId: string, kind: NoticeKind, user: string, frame: Uint8Array): number {
    const row = this.db
      .prepare("INSERT OR REPLACE INTO provider_notices (provider_id, kind, user, frame, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id")
      .get(providerId, kind, user, frame, Date.now()) as { id: number };
    return row.id;
  }

  pending(providerId: string): PendingNotice[] {
    return (this.db.prepare("SELECT id, frame FROM provider_notices WHERE provider_id = ? ORDER BY id").all(providerId) as { id: number; frame: Buffer }[]).map(
      (r) => ({ id: r.id, frame: new Uint8Array(r.frame) }),
    );
  }

  /** The provider has read every notice up to `id` (a later replacement has a higher id and stays). */
  readUpTo(providerId: string, id: number): number {
    return this.db.prepare("DELETE FROM provider_notices WHERE provider_id = ? AND id <= ?").run(providerId, id).changes;
  }

  /** The state a notice reported is gone (the provider uploaded keys): it need not be sent any more. */
  resolve(providerId: string, kind: NoticeKind, user: string): void {
    this.db.prepare("DELETE FROM provider_notices WHERE provider_id = ? AND kind = ? AND user = ?").run(providerId, kind, user);
  }

  count(providerId: string): number {
    return (this.db.prepare("SELECT count(*) AS n FROM provider_notices WHERE provider_id = ?").get(providerId) as { n: number }).n;
  }
}
