// The Matrix devices of bridge-owned users (the bot and the puppets) and the crypto store that holds each one's keys:
// the crypto engine's CryptoDeviceRegistry (src/matrix/crypto/device-registry.ts), kept in the bridge database.
import type { CryptoDeviceRegistry, CryptoDeviceRow } from "../matrix/crypto/device-registry.js";
import type { SqlDatabase, SqlRow } from "../sql/sql.js";

export type { CryptoDeviceRow };

export class CryptoDeviceStore implements CryptoDeviceRegistry {
  constructor(private readonly db: SqlDatabase) {}

  async get(userId: string): Promise<CryptoDeviceRow | undefined> {
    const r = await this.db.get("SELECT * FROM crypto_devices WHERE user_id = ?", [userId]);
    return r && toRow(r);
  }

  async byDevice(userId: string, deviceId: string): Promise<CryptoDeviceRow | undefined> {
    const row = await this.get(userId);
    return row?.deviceId === deviceId ? row : undefined;
  }

  async all(): Promise<CryptoDeviceRow[]> {
    return (await this.db.all("SELECT * FROM crypto_devices ORDER BY created_at")).map(toRow);
  }

  /** Records a new device (replacing the user's previous one, whose store is then no longer used). */
  async put(userId: string, deviceId: string, storeName: string, now = Date.now()): Promise<void> {
    await this.db.run(
      `INSERT INTO crypto_devices (user_id, device_id, store_name, ed25519_key, cross_signed, created_at) VALUES (?, ?, ?, NULL, 0, ?)
       ON CONFLICT(user_id) DO UPDATE SET device_id = excluded.device_id, store_name = excluded.store_name,
         ed25519_key = NULL, cross_signed = 0, created_at = excluded.created_at`,
      [userId, deviceId, storeName, now],
    );
  }

  async setIdentityKey(userId: string, ed25519Key: string): Promise<void> {
    await this.db.run("UPDATE crypto_devices SET ed25519_key = ? WHERE user_id = ?", [ed25519Key, userId]);
  }

  async setCrossSigned(userId: string): Promise<void> {
    await this.db.run("UPDATE crypto_devices SET cross_signed = 1 WHERE user_id = ?", [userId]);
  }

  async toDeviceSince(userId: string, deviceId: string): Promise<string | undefined> {
    const row = await this.db.get<{ value: string }>("SELECT value FROM kv WHERE key = ?", [sinceKey(userId, deviceId)]);
    return row?.value;
  }

  async setToDeviceSince(userId: string, deviceId: string, token: string): Promise<void> {
    await this.db.run("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [sinceKey(userId, deviceId), token]);
  }
}

function sinceKey(userId: string, deviceId: string): string {
  return `crypto.to_device_since.${userId}.${deviceId}`;
}

function toRow(r: SqlRow): CryptoDeviceRow {
  return {
    userId: r.user_id as string,
    deviceId: r.device_id as string,
    storeName: r.store_name as string,
    ed25519Key: (r.ed25519_key as string | null) ?? null,
    crossSigned: r.cross_signed === 1,
  };
}
