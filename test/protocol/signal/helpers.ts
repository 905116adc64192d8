// Test fixtures for the Signal layer: real SQLite files in a temp dir, and a small key directory that plays the
// gatekeeper's key service (holds uploads, hands each one-time prekey out once).
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import type { DeviceKeysUpload, DevicePreKeyBundle } from "../../../src/protocol/signal/bundle.js";
import {
  createDeviceKeysUpload,
  ensureLocalIdentity,
  SIGNAL_SCHEMA_SQL,
  type SignalDeviceStore,
  type SignalDeviceStoreOptions,
} from "../../../src/protocol/signal/index.js";

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), "mdb-signal-"));
  file(name: string): string {
    return join(this.path, name);
  }
  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** The Signal tables in a SQLite file, through the engine the bridge uses (`handle` is the raw connection). */
export function openDb(path: string): SqliteEngine {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  const hasSchema = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'signal_local_devices'").get();
  if (!hasSchema) db.exec(SIGNAL_SCHEMA_SQL);
  return new SqliteEngine(db);
}

/** The gatekeeper's key service, reduced to what session set-up needs. */
export class KeyDirectory {
  private readonly devices = new Map<string, Required<DeviceKeysUpload>>();

  private key(uri: string, deviceId: number): string {
    return `${uri}#${deviceId}`;
  }

  upload(uri: string, keys: DeviceKeysUpload): void {
    const k = this.key(uri, keys.deviceId);
    const old = this.devices.get(k);
    const sameIdentity = old?.identityKey === keys.identityKey;
    this.devices.set(k, {
      ...keys,
      oneTimePreKeys: [...(sameIdentity ? old!.oneTimePreKeys : []), ...(keys.oneTimePreKeys ?? [])],
      oneTimeKyberPreKeys: [...(sameIdentity ? old!.oneTimeKyberPreKeys : []), ...(keys.oneTimeKyberPreKeys ?? [])],
    });
  }

  bundle(uri: string, deviceId: number): DevicePreKeyBundle {
    const d = this.devices.get(this.key(uri, deviceId));
    if (!d) throw new Error(`no keys for ${uri}#${deviceId}`);
    const preKey = d.oneTimePreKeys.shift();
    const kyberPreKey = d.oneTimeKyberPreKeys.shift() ?? d.kyberLastResortPreKey;
    return {
      deviceId: d.deviceId,
      registrationId: d.registrationId,
      identityKey: d.identityKey,
      signedPreKey: d.signedPreKey,
      kyberPreKey,
      ...(preKey ? { preKey } : {}),
    };
  }

  remaining(uri: string, deviceId: number): { preKeys: number; kyberPreKeys: number } {
    const d = this.devices.get(this.key(uri, deviceId))!;
    return { preKeys: d.oneTimePreKeys.length, kyberPreKeys: d.oneTimeKyberPreKeys.length };
  }
}

/** Creates a device identity, uploads its initial keys to the directory (after committing them). */
export async function newDevice(
  db: SqliteEngine,
  directory: KeyDirectory,
  uri: string,
  deviceId = 1,
  oneTimePreKeys = 5,
  options: SignalDeviceStoreOptions = {},
): Promise<SignalDeviceStore> {
  const store = await ensureLocalIdentity(db, uri, { deviceId, ...options });
  const upload = await store.transact(async (uow) => createDeviceKeysUpload(uow, { oneTimePreKeys }));
  directory.upload(uri, upload);
  return store;
}

/** All rows of all signal_ tables, to compare database states. */
export function dumpSignalTables(engine: SqliteEngine): string {
  const db = engine.handle;
  const tables = db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'signal_%' ORDER BY name")
    .all();
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    out[name] = db.prepare(`SELECT * FROM ${name} ORDER BY 1, 2, 3`).all().map((row) =>
      Object.fromEntries(
        Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString("hex") : v]),
      ),
    );
  }
  return JSON.stringify(out);
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
