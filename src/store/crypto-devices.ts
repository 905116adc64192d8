// The Matrix devices of bridge-owned users (the bot and the puppets) and the crypto store that holds each one's keys:
// the crypto engine's CryptoDeviceRegistry (src/matrix/crypto/device-registry.ts), kept in the bridge database.
import type { CryptoDeviceRegistry, CryptoDeviceRow } from "../matrix/crypto/device-registry.js";
import type { SqliteDb } from "./database.js";

export type { CryptoDeviceRow };

export class CryptoDeviceStore implements CryptoDeviceRegistry {
  constructor(private readonly db: SqliteDb) {}

  get(userId: string): CryptoDeviceRow | undefined {
    const r = this.db.prepare("SELECT * FROM crypto_devices WHERE user_id = ?").get(userId) as Record<string, unknown> | undefined;
    return r && toRow(r);
  }

  byDevice(userId: string, deviceId: string): CryptoDeviceRow | undefined {
    const row = this.get(userId);
    return row?.deviceId === deviceId ? row : undefined;
  }

  all(): CryptoDeviceRow[] {
    return (this.db.prepare("SELECT * FROM crypto_devices ORDER BY created_at").all() as Record<string, unknown>[]).map(toRow);
  }

  /** Records a new device (replacing the user's previous one, whose store is then no longer used). */
  put(userId: string, deviceId: string, storeName: string, now = Date.now()): void {
    this.db
      .prepare(
        `INSERT INTO crypto_devices (user_id, device_id, store_name, ed25519_key, cross_signed, created_at) VALUES (?, ?, ?, NULL, 0, ?)
         ON CONFLICT(user_id) DO UPDATE SET device_id = excluded.device_id, store_name = excluded.store_name,
           ed25519_key = NULL, cross_signed = 0, created_at = excluded.created_at`,
      )
      .run(userId, deviceId, storeName, now);
  }

  setIdentityKey(userId: string, ed25519Key: string): void {
    this.db.prepare("UPDATE crypto_devices SET ed25519_key = ? WHERE user_id = ?").run(ed25519Key, userId);
  }

  setCrossSigned(userId: string): void {
    this.db.prepare("UPDATE crypto_devices SET cross_signed = 1 WHERE user_id = ?").run(userId);
  }

  toDeviceSince(userId: string, deviceId: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM kv WHERE key = ?").get(sinceKey(userId, deviceId)) as { value: string } | undefined;
    return row?.value;
  }

  setToDeviceSince(userId: string, deviceId: string, token: string): void {
    this.db
      .prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
      .run(sinceKey(userId, deviceId), token);
  }
}

function sinceKey(userId: string, deviceId: string): string {
  return `crypto.to_device_since.${userId}.${deviceId}`;
}

function toRow(r: Record<string, unknown>): CryptoDeviceRow {
  return {
    userId: r.user_id as string,
    deviceId: r.device_id as string,
    storeName: r.store_name as string,
    ed25519Key: (r.ed25519_key as string | null) ?? null,
    crossSigned: r.cross_signed === 1,
  };
}
