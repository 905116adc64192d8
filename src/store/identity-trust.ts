// Which identity of each contact device a Matrix user was told about, and which they verified. The Signal store says
// what the keys are now; this says what the user knows, so each change is announced once (across restarts: the row
// changes only after the notice went out, and the notice's transaction ID names the change).
// Async like the rest of the store is becoming, though SQLite answers at once today.
import type { SqliteDb } from "./database.js";

export interface TrustRow {
  device: number;
  /** SHA-256 (hex) of the serialized identity key the user was last told about. */
  identityHash: string;
  announcedAt: number;
  verifiedAt: number | null;
  /** A verified identity changed, or a device joined a verified contact: the user has to verify again. */
  reverifyNeeded: boolean;
}

interface Row {
  device: number;
  identity_hash: string;
  announced_at: number;
  verified_at: number | null;
  reverify_needed: number;
}

export class IdentityTrustStore {
  constructor(private readonly db: SqliteDb) {}

  async forContact(matrixUser: string, contact: string): Promise<TrustRow[]> {
    const rows = this.db
      .prepare("SELECT device, identity_hash, announced_at, verified_at, reverify_needed FROM identity_trust WHERE matrix_user = ? AND contact = ? ORDER BY device")
      .all(matrixUser, contact) as Row[];
    return rows.map((r) => ({
      device: r.device,
      identityHash: r.identity_hash,
      announcedAt: r.announced_at,
      verifiedAt: r.verified_at,
      reverifyNeeded: r.reverify_needed === 1,
    }));
  }

  /** The user now knows this identity of the device (first contact, or after the notice of a change). */
  async acknowledge(matrixUser: string, contact: string, device: number, identityHash: string, reverifyNeeded: boolean, now = Date.now()): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO identity_trust (matrix_user, contact, device, identity_hash, announced_at, verified_at, reverify_needed)
         VALUES (?, ?, ?, ?, ?, NULL, ?)
         ON CONFLICT (matrix_user, contact, device) DO UPDATE SET identity_hash = excluded.identity_hash, announced_at = excluded.announced_at,
           verified_at = NULL, reverify_needed = excluded.reverify_needed`,
      )
      .run(matrixUser, contact, device, identityHash, now, reverifyNeeded ? 1 : 0);
  }

  /**
   * The user verified these identities. Devices the contact no longer has (not in `current`) are forgotten; current
   * devices not verified now keep what they had.
   */
  async verify(
    matrixUser: string,
    contact: string,
    verified: readonly { device: number; identityHash: string }[],
    current: readonly number[],
    now = Date.now(),
  ): Promise<void> {
    this.db.transaction(() => {
      for (const row of this.db.prepare("SELECT device FROM identity_trust WHERE matrix_user = ? AND contact = ?").all(matrixUser, contact) as { device: number }[]) {
        if (!current.includes(row.device)) this.db.prepare("DELETE FROM identity_trust WHERE matrix_user = ? AND contact = ? AND device = ?").run(matrixUser, contact, row.device);
      }
      const upsert = this.db.prepare(
        `INSERT INTO identity_trust (matrix_user, contact, device, identity_hash, announced_at, verified_at, reverify_needed) VALUES (?, ?, ?, ?, ?, ?, 0)
         ON CONFLICT (matrix_user, contact, device) DO UPDATE SET identity_hash = excluded.identity_hash, verified_at = excluded.verified_at, reverify_needed = 0`,
      );
      for (const d of verified) upsert.run(matrixUser, contact, d.device, d.identityHash, now, now);
      // Verifying is the user's answer to a change: nothing of this contact waits for re-verification any more.
      this.db.prepare("UPDATE identity_trust SET reverify_needed = 0 WHERE matrix_user = ? AND contact = ?").run(matrixUser, contact);
    })();
  }

  /** Forgets what the user knew of a device the contact no longer has. */
  async forgetDevice(matrixUser: string, contact: string, device: number): Promise<void> {
    this.db.prepare("DELETE FROM identity_trust WHERE matrix_user = ? AND contact = ? AND device = ?").run(matrixUser, contact, device);
  }
}
