// Directory of the gatekeeper's own phone-number users: profile, opt-in to third-party chats, which providers may
// reach them and whom they blocked. Devices are the user's rows in the key store.
import type { Db } from "./db.js";
import { HttpError } from "./http-error.js";
import type { DeviceRef, KeyStore } from "./keys.js";
import { telUriOf } from "./uris.js";

export interface DirectoryUser {
  e164: string;
  uri: string;
  name: string;
  avatar?: string;
  optedIn: boolean;
  /** Empty: every provider may reach the user once opted in. */
  allowedProviders: string[];
  sendReceipts: boolean;
  blocked: string[];
  devices: DeviceRef[];
  /** Suspended users cannot send (after reports, or by the operator). */
  suspended: boolean;
  suspendedReason?: string;
}

export interface NewUser {
  e164: string;
  name: string;
  avatar?: string;
  optedIn: boolean;
  allowedProviders: string[];
  sendReceipts: boolean;
}

/** Why a provider may not reach a user, in the order the gatekeeper checks. */
export type Unreachable = "UNKNOWN_USER" | "NOT_OPTED_IN" | "BLOCKED";

interface UserRow {
  e164: string;
  name: string;
  avatar: string | null;
  opted_in: number;
  send_receipts: number;
  suspended_at: number | null;
  suspended_reason: string | null;
}

const USER_COLUMNS = "e164, name, avatar, opted_in, send_receipts, suspended_at, suspended_reason";

export class Directory {
  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
  ) {}

  add(user: NewUser): void {
    this.db.transaction(() => {
      if (this.exists(user.e164)) throw new HttpError(409, "CONFLICT", `user ${user.e164} already exists`);
      this.db
        .prepare("INSERT INTO users (e164, name, avatar, opted_in, send_receipts, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .run(user.e164, user.name, user.avatar ?? null, user.optedIn ? 1 : 0, user.sendReceipts ? 1 : 0, Date.now());
      this.replaceAllowedProviders(user.e164, user.allowedProviders);
    })();
  }

  exists(e164: string): boolean {
    return this.db.prepare("SELECT 1 FROM users WHERE e164 = ?").get(e164) !== undefined;
  }

  get(e164: string): DirectoryUser | undefined {
    const row = this.db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE e164 = ?`).get(e164) as UserRow | undefined;
    return row ? this.toUser(row) : undefined;
  }

  require(e164: string): DirectoryUser {
    const user = this.get(e164);
    if (!user) throw new HttpError(404, "UNKNOWN_USER", `no user ${e164}`);
    return user;
  }

  list(): DirectoryUser[] {
    const rows = this.db.prepare(`SELECT ${USER_COLUMNS} FROM users ORDER BY e164`).all() as UserRow[];
    return rows.map((r) => this.toUser(r));
  }

  setOptIn(e164: string, optedIn: boolean, allowedProviders?: string[]): void {
    this.require(e164);
    this.db.transaction(() => {
      this.db.prepare("UPDATE users SET opted_in = ? WHERE e164 = ?").run(optedIn ? 1 : 0, e164);
      if (allowedProviders) this.replaceAllowedProviders(e164, allowedProviders);
    })();
  }

  /** A user changes their profile: a new name, and/or a new picture (a media ID) or none (null). */
  setProfile(e164: string, profile: { name?: string | undefined; avatar?: string | null | undefined }): void {
    this.require(e164);
    if (profile.name !== undefined) this.db.prepare("UPDATE users SET name = ? WHERE e164 = ?").run(profile.name, e164);
    if (profile.avatar !== undefined) this.db.prepare("UPDATE users SET avatar = ? WHERE e164 = ?").run(profile.avatar, e164);
  }

  setSendReceipts(e164: string, sendReceipts: boolean): void {
    this.require(e164);
    this.db.prepare("UPDATE users SET send_receipts = ? WHERE e164 = ?").run(sendReceipts ? 1 : 0, e164);
  }

  /** Returns whether the user was not suspended before. */
  suspend(e164: string, reason: string, now = Date.now()): boolean {
    this.require(e164);
    return this.db.prepare("UPDATE users SET suspended_at = ?, suspended_reason = ? WHERE e164 = ? AND suspended_at IS NULL").run(now, reason, e164).changes > 0;
  }

  unsuspend(e164: string): void {
    this.require(e164);
    this.db.prepare("UPDATE users SET suspended_at = NULL, suspended_reason = NULL WHERE e164 = ?").run(e164);
  }

  block(e164: string, uri: string): void {
    this.require(e164);
    this.db.prepare("INSERT OR IGNORE INTO blocks (e164, blocked_uri) VALUES (?, ?)").run(e164, uri);
  }

  unblock(e164: string, uri: string): void {
    this.require(e164);
    this.db.prepare("DELETE FROM blocks WHERE e164 = ? AND blocked_uri = ?").run(e164, uri);
  }

  /** Device ids are never reused, so a removed-then-added device cannot be mistaken for the old one. */
  allocateDeviceId(e164: string): number {
    const row = this.db.prepare("UPDATE users SET next_device_id = next_device_id + 1 WHERE e164 = ? RETURNING next_device_id - 1 AS id").get(e164) as
      | { id: number }
      | undefined;
    if (!row) throw new HttpError(404, "UNKNOWN_USER", `no user ${e164}`);
    return row.id;
  }

  /** The first failing check of: user exists, opted in and allows the provider, has not blocked the sender. */
  reachability(e164: string, providerId: string, senderUri?: string): Unreachable | undefined {
    const row = this.db.prepare("SELECT opted_in FROM users WHERE e164 = ?").get(e164) as { opted_in: number } | undefined;
    if (!row) return "UNKNOWN_USER";
    if (!row.opted_in) return "NOT_OPTED_IN";
    const allowed = this.allowedProviders(e164);
    if (allowed.length > 0 && !allowed.includes(providerId)) return "NOT_OPTED_IN";
    if (senderUri !== undefined && this.db.prepare("SELECT 1 FROM blocks WHERE e164 = ? AND blocked_uri = ?").get(e164, senderUri)) return "BLOCKED";
    return undefined;
  }

  /** Providers that may currently reach the user (for DevicesChanged pushes). */
  mayReach(e164: string, providerId: string): boolean {
    return this.reachability(e164, providerId) === undefined;
  }

  private allowedProviders(e164: string): string[] {
    return (this.db.prepare("SELECT provider_id FROM user_allowed_providers WHERE e164 = ? ORDER BY provider_id").all(e164) as { provider_id: string }[]).map(
      (r) => r.provider_id,
    );
  }

  private replaceAllowedProviders(e164: string, providers: string[]): void {
    this.db.prepare("DELETE FROM user_allowed_providers WHERE e164 = ?").run(e164);
    const insert = this.db.prepare("INSERT OR IGNORE INTO user_allowed_providers (e164, provider_id) VALUES (?, ?)");
    for (const p of providers) insert.run(e164, p);
  }

  private toUser(row: UserRow): DirectoryUser {
    const uri = telUriOf(row.e164);
    const user: DirectoryUser = {
      e164: row.e164,
      uri,
      name: row.name,
      optedIn: row.opted_in === 1,
      allowedProviders: this.allowedProviders(row.e164),
      sendReceipts: row.send_receipts === 1,
      blocked: (this.db.prepare("SELECT blocked_uri FROM blocks WHERE e164 = ? ORDER BY blocked_uri").all(row.e164) as { blocked_uri: string }[]).map(
        (r) => r.blocked_uri,
      ),
      devices: this.keys.devices(uri),
      suspended: row.suspended_at !== null,
    };
    if (row.avatar !== null) user.avatar = row.avatar;
    if (row.suspended_reason !== null) user.suspendedReason = row.suspended_reason;
    return user;
  }
}
