// Simulated devices' Signal identities: created like an app install, reset like a reinstall. Each device's private
// state lives in the Signal tables of the gatekeeper DB; its public keys go into the key service in the same
// transaction, so the key service never offers a prekey whose private half is not stored.
import { randomInt } from "node:crypto";
import { ensureLocalIdentity } from "../../protocol/signal/identity.js";
import { createDeviceKeysUpload, refillPreKeys } from "../../protocol/signal/prekeys.js";
import { SignalDeviceStore } from "../../protocol/signal/device-store.js";
import { withIdentityLock } from "../../protocol/signal/identity-lock.js";
import { SqliteEngine } from "../../sql/engines/sqlite.js";
import type { Db } from "../db.js";
import type { DeviceRef, KeyStore } from "../keys.js";
import { telUriOf } from "../uris.js";

// ensureLocalIdentity's range for registration ids (Signal's 14-bit ids, never 0).
const MAX_REGISTRATION_ID = 16380;

/** One-time prekeys a simulated device uploads at a time (initially and on each refill). */
export const SIM_PREKEY_BATCH = 50;

export class SimDevices {
  private readonly stores = new Map<string, SignalDeviceStore>();
  /**
   * The Signal layer's view of the gatekeeper DB. It shares the connection with the gatekeeper's synchronous
   * modules, so their statements issued while a Signal commit is open join that commit; the gatekeeper's own writes
   * are single statements or sync transactions, which never interleave with an open commit's writes.
   */
  private readonly sql: SqliteEngine;

  constructor(
    private readonly db: Db,
    private readonly keys: KeyStore,
  ) {
    this.sql = new SqliteEngine(db);
  }

  async create(e164: string, deviceId: number): Promise<DeviceRef> {
    return this.install(e164, deviceId, false);
  }

  /** A reinstall: new identity key and registration id, old sessions and prekeys gone. */
  async reset(e164: string, deviceId: number): Promise<DeviceRef> {
    return this.install(e164, deviceId, true);
  }

  async remove(e164: string, deviceId: number): Promise<void> {
    await withIdentityLock({ uri: telUriOf(e164), deviceId }, async () => {
      this.db.transaction(() => {
        this.forget(e164, deviceId);
        this.keys.removeDevice(telUriOf(e164), deviceId);
      })();
    });
  }

  private async install(e164: string, deviceId: number, reinstall: boolean): Promise<DeviceRef> {
    const uri = telUriOf(e164);
    // Under the device's lock, so no decryption runs against a half-replaced identity.
    return withIdentityLock({ uri, deviceId }, async () => {
      let registrationId: number | undefined;
      if (reinstall) {
        const old = this.keys.devices(uri).find((d) => d.deviceId === deviceId);
        this.forget(e164, deviceId);
        do registrationId = randomInt(1, MAX_REGISTRATION_ID + 1);
        while (registrationId === old?.registrationId);
      }
      const store = await ensureLocalIdentity(this.sql, uri, registrationId === undefined ? { deviceId } : { deviceId, registrationId });
      this.stores.set(key(e164, deviceId), store);
      const uow = await store.begin();
      const upload = await createDeviceKeysUpload(uow, { oneTimePreKeys: SIM_PREKEY_BATCH });
      await this.sql.transaction(async () => {
        await uow.commit();
        this.keys.upload(uri, [upload]);
      });
      return { deviceId, registrationId: upload.registrationId };
    });
  }

  async store(e164: string, deviceId: number): Promise<SignalDeviceStore> {
    const k = key(e164, deviceId);
    let store = this.stores.get(k);
    if (!store) {
      store = await SignalDeviceStore.open(this.sql, { uri: telUriOf(e164), deviceId });
      this.stores.set(k, store);
    }
    return store;
  }

  /** Tops up the key service when a device runs low, as a phone does in the background. */
  async refill(e164: string, deviceId: number): Promise<void> {
    const uri = telUriOf(e164);
    await (await this.store(e164, deviceId)).transact(
      async (uow) => refillPreKeys(uow, SIM_PREKEY_BATCH),
      (u) => this.keys.upload(uri, [u]),
    );
  }

  private forget(e164: string, deviceId: number): void {
    this.stores.delete(key(e164, deviceId));
    // Deleting the local device cascades to its sessions, identities and prekeys (SIGNAL_SCHEMA_SQL foreign keys).
    this.db.prepare("DELETE FROM signal_local_devices WHERE uri = ? AND device_id = ?").run(telUriOf(e164), deviceId);
  }
}

const key = (e164: string, deviceId: number) => `${e164}#${deviceId}`;
