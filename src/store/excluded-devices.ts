// Matrix devices the bridge withheld room keys from (bridge.encryption.share_keys_with: cross_signed) whose portal
// was told, so each device is named once per room, across restarts.
import type { SqlDatabase } from "../sql/sql.js";

export class ExcludedDeviceStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Of these devices, the ones the room was not told about yet. */
  async untold(roomId: string, devices: readonly { userId: string; deviceId: string }[]): Promise<{ userId: string; deviceId: string }[]> {
    const out: { userId: string; deviceId: string }[] = [];
    for (const d of devices) {
      const row = await this.db.get("SELECT 1 AS one FROM excluded_devices_told WHERE room_id = ? AND user_id = ? AND device_id = ?", [roomId, d.userId, d.deviceId]);
      if (!row) out.push(d);
    }
    return out;
  }

  async told(roomId: string, devices: readonly { userId: string; deviceId: string }[], now = Date.now()): Promise<void> {
    await this.db.transaction(async () => {
      for (const d of devices) {
        await this.db.run("INSERT INTO excluded_devices_told (room_id, user_id, device_id, told_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [roomId, d.userId, d.deviceId, now]);
      }
    });
  }
}
