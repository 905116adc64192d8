// Which identity of each contact device a Matrix user was told about, and which they verified. The Signal store says
// what the keys are now; this says what the user knows, so each change is announced once (across restarts: the row
// changes only after the notice went out, and the notice's transaction ID names the change).
import type { SqlDatabase } from "../sql/sql.js";

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
  device: number | bigint;
  identity_hash: string;
  announced_at: number | bigint;
  verified_at: number | bigint | null;
  reverify_needed: number | bigint;
}

export class IdentityTrustStore {
  constructor(private readonly db: SqlDatabase) {}

  async forContact(matrixUser: string, contact: string): Promise<TrustRow[]> {
    const rows = await this.db.all<Row>(
      "SELECT device, identity_hash, announced_at, verified_at, reverify_needed FROM identity_trust WHERE matrix_user = ? AND contact = ? ORDER BY device",
      [matrixUser, contact],
    );
    return rows.map((r) => ({
      device: Number(r.device),
      identityHash: r.identity_hash,
      announcedAt: Number(r.announced_at),
      verifiedAt: r.verified_at === null ? null : Number(r.verified_at),
      reverifyNeeded: Number(r.reverify_needed) === 1,
    }));
  }

  /** The user now knows this identity of the device (first contact, or after the notice of a change). */
  async acknowledge(matrixUser: string, contact: string, device: number, identityHash: string, reverifyNeeded: boolean, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO identity_trust (matrix_user, contact, device, identity_hash, announced_at, verified_at, reverify_needed)
       VALUES (?, ?, ?, ?, ?, NULL, ?)
       ON CONFLICT (matrix_user, contact, device) DO UPDATE SET identity_hash = excluded.identity_hash, announced_at = excluded.announced_at,
         verified_at = NULL, reverify_needed = excluded.reverify_needed`,
      [matrixUser, contact, device, identityHash, now, reverifyNeeded ? 1 : 0],
    );
  }

  /**
   * The user verified these identities. Devices the contact no longer has (not in `current`) are forgotten; current
   * devices not verified now keep what they had. Verifying answers a change: nothing of the contact waits for
   * re-verification afterwards.
   */
  verify(matrixUser: string, contact: string, verified: readonly { device: number; identityHash: string }[], current: readonly number[], now = Date.now()): Promise<void> {
    return this.db.transaction(async () => {
      for (const row of await this.db.all<{ device: number | bigint }>("SELECT device FROM identity_trust WHERE matrix_user = ? AND contact = ?", [matrixUser, contact])) {
        if (!current.includes(Number(row.device))) {
          await this.db.run("DELETE FROM identity_trust WHERE matrix_user = ? AND contact = ? AND device = ?", [matrixUser, contact, row.device as number]);
        }
      }
      for (const d of verified) {
        await this.db.run(
          `INSERT INTO identity_trust (matrix_user, contact, device, identity_hash, announced_at, verified_at, reverify_needed) VALUES (?, ?, ?, ?, ?, ?, 0)
           ON CONFLICT (matrix_user, contact, device) DO UPDATE SET identity_hash = excluded.identity_hash, verified_at = excluded.verified_at, reverify_needed = 0`,
          [matrixUser, contact, d.device, d.identityHash, now, now],
        );
      }
      await this.db.run("UPDATE identity_trust SET reverify_needed = 0 WHERE matrix_user = ? AND contact = ?", [matrixUser, contact]);
    });
  }
}
