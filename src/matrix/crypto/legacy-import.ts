// Bridges before the crypto store moved into the bridge database kept each device's crypto store in its own SQLite
// files under matrix-crypto/ (IndexedDB provided by indexeddbshim). On the first start after the upgrade those
// stores are copied, database by database, into the record store: the devices keep their keys, sessions and
// cross-signing identity, so Matrix users see no change. The old files are then moved aside into
// matrix-crypto/imported/ (they still hold the keys, encrypted with the store key: delete them once the bridge runs).
//
// indexeddbshim is loaded only here, only when such files exist, and installed on a private object (not as the
// process's indexedDB, which is the bridge's own).
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { encodeKey } from "./idb/key-codec.js";
import { serializeValue } from "./idb/database-state.js";
import type { CryptoRecordStore, DatabaseSchema, RecordChange } from "./record-store.js";

const IMPORTED_DIR = "imported";

/** The legacy files in the store folder (one pair per device, plus the shim's catalogue). */
export function legacyStoreFiles(storeDir: string): string[] {
  if (!existsSync(storeDir)) return [];
  return readdirSync(storeDir).filter((f) => f.endsWith(".sqlite"));
}

interface ShimGlobals {
  indexedDB: {
    open(name: string): ShimRequest;
  };
}
type ShimRequest = { result: any; error: unknown; onsuccess: (() => void) | null; onerror: (() => void) | null; onupgradeneeded?: (() => void) | null; transaction?: any };

/**
 * Copies the stores of `storeNames` (device store names) from the legacy files into `records`, skipping databases
 * the record store has already. Returns how many IndexedDB databases were imported and which devices failed.
 */
export async function importLegacyStores(opts: { storeDir: string; storeNames: string[]; records: CryptoRecordStore; log: Logger }): Promise<{ imported: number; failed: string[] }> {
  const files = legacyStoreFiles(opts.storeDir);
  if (files.length === 0) return { imported: 0, failed: [] };
  opts.log.info({ folder: opts.storeDir, files: files.length }, "importing the Matrix crypto stores of an older bridge version into the bridge database");
  const shim = await loadShim(opts.storeDir);
  const existing = new Set(await opts.records.names());
  let imported = 0;
  const failed: string[] = [];
  for (const storeName of opts.storeNames) {
    for (const name of [`${storeName}::matrix-sdk-crypto-meta`, `${storeName}::matrix-sdk-crypto`]) {
      if (existing.has(name)) continue;
      try {
        const change = await readDatabase(shim, name);
        if (!change) continue; // this device never had that database
        await opts.records.commit(name, change);
        imported++;
      } catch (err) {
        failed.push(storeName);
        opts.log.error({ err, database: name }, "could not import this crypto store; the device will be replaced with a new one");
      }
    }
  }
  if (failed.length === 0) {
    const aside = join(opts.storeDir, IMPORTED_DIR);
    mkdirSync(aside, { recursive: true, mode: 0o700 });
    for (const f of files) renameSync(join(opts.storeDir, f), join(aside, f));
    opts.log.info({ databases: imported, movedTo: aside }, "imported the crypto stores; the old files were moved aside and can be deleted once the bridge works");
  } else {
    opts.log.warn({ databases: imported, failed: failed.length }, "imported the crypto stores except some; the old files stay where they are");
  }
  return { imported, failed };
}

async function loadShim(storeDir: string): Promise<ShimGlobals> {
  const { default: setGlobalVars } = (await import("indexeddbshim")) as unknown as { default: (target: object, config: object) => void };
  const target = {} as ShimGlobals;
  setGlobalVars(target, { checkOrigin: false, databaseBasePath: storeDir, sysDatabaseBasePath: storeDir, cacheDatabaseInstances: false });
  return target;
}

function request<T>(r: ShimRequest): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result as T);
    r.onerror = () => reject(r.error);
  });
}

/** Everything in one legacy database as a record-store commit; undefined when the database does not exist. */
async function readDatabase(shim: ShimGlobals, name: string): Promise<RecordChange | undefined> {
  const open = shim.indexedDB.open(name);
  let created = false;
  open.onupgradeneeded = () => {
    // Opening without a version creates a missing database at version 1: abort that, there is nothing to import.
    created = true;
    open.transaction.abort();
  };
  let db: any;
  try {
    db = await request(open);
  } catch (err) {
    if (created) return undefined;
    throw err;
  }
  try {
    const storeNames = [...(db.objectStoreNames as Iterable<string>)];
    const schema: DatabaseSchema = { version: db.version as number, stores: [] };
    const writes: RecordChange["writes"] = [];
    if (storeNames.length > 0) {
      const tx = db.transaction(storeNames, "readonly");
      for (const storeName of storeNames) {
        const store = tx.objectStore(storeName);
        if (store.keyPath !== null || store.autoIncrement) throw new Error(`object store ${storeName} uses a key path or key generator, which the crypto store never does`);
        const indexes = [...(store.indexNames as Iterable<string>)].map((n) => {
          const index = store.index(n);
          if (index.multiEntry) throw new Error(`index ${n} of ${storeName} is multiEntry, which the crypto store never uses`);
          return { name: n, keyPath: index.keyPath as string | string[], unique: index.unique as boolean, multiEntry: false };
        });
        schema.stores.push({ name: storeName, indexes });
        const [keys, values] = await Promise.all([request<unknown[]>(store.getAllKeys()), request<unknown[]>(store.getAll())]);
        if (keys.length !== values.length) throw new Error(`object store ${storeName} changed while it was read`);
        for (let i = 0; i < keys.length; i++) writes.push({ store: storeName, key: encodeKey(keys[i]), value: serializeValue(values[i]) });
      }
    }
    return { schema, cleared: [], writes };
  } finally {
    db.close();
  }
}
