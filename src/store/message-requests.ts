// Message requests: the first messages from a number that never chatted with the user, held (durably) until the user
// accepts, blocks or ignores the request, or it expires. At most `cap` messages are kept per sender; the rest are
// counted, so the user hears how many were not kept.
import type { SqlDatabase, SqlRow } from "../sql/sql.js";
import type { InboxEntry } from "./inbox.js";

export interface MessageRequest {
  matrixUser: string;
  contact: string;
  noticeEventId: string | null;
  firstAt: number;
  expiresAt: number;
  held: number;
  overCap: number;
}

export type HeldMessage = Pick<InboxEntry, "matrixUser" | "remoteUri" | "senderDevice" | "messageId" | "timestamp" | "content" | "identityChanged">;

export type HoldResult = "opened" | "held" | "over_cap" | "duplicate";

const num = (v: unknown) => Number(v);

export class MessageRequestStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Holds one message, opening the request if it is the first; returns what happened. */
  hold(m: HeldMessage, cap: number, expiresAt: number, now = Date.now()): Promise<HoldResult> {
    return this.db.transaction(async () => {
      const opened = (
        await this.db.run(
          "INSERT INTO message_requests (matrix_user, contact, first_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (matrix_user, contact) DO NOTHING",
          [m.matrixUser, m.remoteUri, now, expiresAt],
        )
      ).changes > 0;
      const held = await this.heldCount(m.matrixUser, m.remoteUri);
      if (held >= cap) {
        const known = await this.db.get("SELECT 1 AS x FROM message_request_items WHERE matrix_user = ? AND contact = ? AND message_id = ?", [m.matrixUser, m.remoteUri, m.messageId]);
        if (known) return "duplicate";
        await this.db.run("UPDATE message_requests SET over_cap = over_cap + 1 WHERE matrix_user = ? AND contact = ?", [m.matrixUser, m.remoteUri]);
        return "over_cap";
      }
      const inserted = await this.db.run(
        `INSERT INTO message_request_items (matrix_user, contact, sender_device, message_id, timestamp, content, identity_changed)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (matrix_user, contact, message_id) DO NOTHING`,
        [m.matrixUser, m.remoteUri, m.senderDevice, m.messageId, m.timestamp, m.content, m.identityChanged ? 1 : 0],
      );
      if (inserted.changes === 0) return "duplicate";
      return opened ? "opened" : "held";
    });
  }

  async setNotice(matrixUser: string, contact: string, eventId: string): Promise<void> {
    await this.db.run("UPDATE message_requests SET notice_event_id = ? WHERE matrix_user = ? AND contact = ?", [eventId, matrixUser, contact]);
  }

  async get(matrixUser: string, contact: string): Promise<MessageRequest | undefined> {
    const r = await this.db.get("SELECT * FROM message_requests WHERE matrix_user = ? AND contact = ?", [matrixUser, contact]);
    return r && this.toRequest(r);
  }

  async byNotice(eventId: string): Promise<MessageRequest | undefined> {
    const r = await this.db.get("SELECT * FROM message_requests WHERE notice_event_id = ?", [eventId]);
    return r && this.toRequest(r);
  }

  /** The user's open requests, oldest first. */
  async forUser(matrixUser: string): Promise<MessageRequest[]> {
    const rows = await this.db.all("SELECT * FROM message_requests WHERE matrix_user = ? ORDER BY first_at", [matrixUser]);
    return Promise.all(rows.map((r) => this.toRequest(r)));
  }

  /** The held messages, in the order they arrived. */
  async messages(matrixUser: string, contact: string): Promise<(HeldMessage & { seq: number })[]> {
    const rows = await this.db.all("SELECT * FROM message_request_items WHERE matrix_user = ? AND contact = ? ORDER BY seq", [matrixUser, contact]);
    return rows.map((r) => ({
      seq: num(r.seq),
      matrixUser: r.matrix_user as string,
      remoteUri: r.contact as string,
      senderDevice: num(r.sender_device),
      messageId: r.message_id as string,
      timestamp: num(r.timestamp),
      content: new Uint8Array(r.content as Uint8Array),
      identityChanged: num(r.identity_changed) === 1,
    }));
  }

  /** One held message was delivered (after an accept): a crash later does not deliver it twice. */
  async removeMessage(seq: number): Promise<void> {
    await this.db.run("DELETE FROM message_request_items WHERE seq = ?", [seq]);
  }

  /** Closes the request and drops what it still holds. */
  remove(matrixUser: string, contact: string): Promise<void> {
    return this.db.transaction(async () => {
      await this.db.run("DELETE FROM message_request_items WHERE matrix_user = ? AND contact = ?", [matrixUser, contact]);
      await this.db.run("DELETE FROM message_requests WHERE matrix_user = ? AND contact = ?", [matrixUser, contact]);
    });
  }

  async expired(now = Date.now()): Promise<MessageRequest[]> {
    const rows = await this.db.all("SELECT * FROM message_requests WHERE expires_at <= ? ORDER BY expires_at", [now]);
    return Promise.all(rows.map((r) => this.toRequest(r)));
  }

  /** The user's own setting; undefined when they left it to the bridge's config. */
  async enabledFor(matrixUser: string): Promise<boolean | undefined> {
    const r = await this.db.get<{ enabled: unknown }>("SELECT enabled FROM message_request_prefs WHERE matrix_user = ?", [matrixUser]);
    return r === undefined ? undefined : num(r.enabled) === 1;
  }

  async setEnabledFor(matrixUser: string, enabled: boolean): Promise<void> {
    await this.db.run("INSERT INTO message_request_prefs (matrix_user, enabled) VALUES (?, ?) ON CONFLICT (matrix_user) DO UPDATE SET enabled = excluded.enabled", [
      matrixUser,
      enabled ? 1 : 0,
    ]);
  }

  private async heldCount(matrixUser: string, contact: string): Promise<number> {
    const r = await this.db.get<{ n: unknown }>("SELECT count(*) AS n FROM message_request_items WHERE matrix_user = ? AND contact = ?", [matrixUser, contact]);
    return num(r?.n ?? 0);
  }

  private async toRequest(r: SqlRow): Promise<MessageRequest> {
    const matrixUser = r.matrix_user as string;
    const contact = r.contact as string;
    return {
      matrixUser,
      contact,
      noticeEventId: (r.notice_event_id as string | null) ?? null,
      firstAt: num(r.first_at),
      expiresAt: num(r.expires_at),
      held: await this.heldCount(matrixUser, contact),
      overCap: num(r.over_cap),
    };
  }
}
