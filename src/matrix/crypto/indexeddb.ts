// The crypto engine (matrix-sdk-crypto-wasm) persists only through IndexedDB. In Node, indexeddbshim provides it over
// SQLite (better-sqlite3): every IndexedDB database becomes one SQLite file in the store folder.
//
// The shim is installed once per process as the global `indexedDB` (the wasm module looks it up there). Two details
// matter for a long-running bridge with many devices:
// - The shim never closes the SQLite handles of a closed IndexedDB connection, and with its instance cache on it keeps
//   one handle per schema version (the crypto store has ~19), so a store costs ~20 file descriptors forever. We turn
//   the cache off and track the handles ourselves, so closing a machine's store releases its files.
// - SQLite's default (rollback journal, synchronous=FULL) commits each IndexedDB transaction durably, so what the
//   crypto engine has written survives SIGKILL.
// - The files hold Olm and Megolm keys (encrypted with the store key, but their structure and sizes are not): each is
//   created 0600 before the shim opens it (SQLite gives its -journal the same mode), the folder 0700, and freed pages
//   are zeroed (secure_delete) so that superseded ratchet states do not linger in free space.
import { initAsync } from "@matrix-org/matrix-sdk-crypto-wasm";
import type BetterSqlite3 from "better-sqlite3";
import { createPrivateFile, ensurePrivateDir } from "../../util/private-files.js";
import setGlobalVars from "indexeddbshim";
// @ts-expect-error: the shim ships no types for this internal module; its default export is `openDatabase`.
import nodeWebSQL from "indexeddbshim/src/nodeWebSQL.js";

type OpenDatabase = (path: string, version: string, name: string, size: number, created?: unknown) => WebSqlDatabase;
interface WebSqlDatabase {
  _db?: { _db?: { _db?: Pick<BetterSqlite3.Database, "close" | "inTransaction" | "open" | "pragma"> } };
}

interface Installed {
  basePath: string;
  /** IndexedDB database name -> the SQLite handles opened for it. */
  handles: Map<string, Set<WebSqlDatabase>>;
}

let installed: Installed | undefined;
let wasmReady: Promise<void> | undefined;

/**
 * Makes IndexedDB (backed by SQLite files under `basePath`) available and loads the crypto engine's wasm module.
 * A process has one store folder: a second call with another folder is an error.
 */
export async function installCryptoStorage(basePath: string): Promise<void> {
  if (installed) {
    if (installed.basePath !== basePath) {
      throw new Error(`the Matrix crypto store folder is already ${installed.basePath} in this process; cannot also use ${basePath}`);
    }
  } else {
    const existing = (globalThis as { indexedDB?: unknown }).indexedDB;
    if (existing !== undefined) {
      throw new Error("another IndexedDB implementation is already installed in this process; the Matrix crypto store needs its own (indexeddbshim)");
    }
    ensurePrivateDir(basePath);
    const handles = new Map<string, Set<WebSqlDatabase>>();
    const openDatabase: OpenDatabase = (path, version, name, size, created) => {
      if (path !== ":memory:") createPrivateFile(path);
      const db = (nodeWebSQL as OpenDatabase)(path, version, name, size, created);
      const raw = db._db?._db?._db;
      if (!raw) throw new Error("indexeddbshim opened a database without a SQLite handle; the crypto store cannot be secured");
      raw.pragma("secure_delete = ON");
      let set = handles.get(name);
      if (!set) handles.set(name, (set = new Set()));
      set.add(db);
      return db;
    };
    setGlobalVars(null as never, {
      checkOrigin: false,
      databaseBasePath: basePath,
      sysDatabaseBasePath: basePath,
      cacheDatabaseInstances: false,
      win: { openDatabase } as never,
    });
    if ((globalThis as { indexedDB?: unknown }).indexedDB === undefined) throw new Error("indexeddbshim did not install indexedDB");
    installed = { basePath, handles };
  }
  wasmReady ??= initAsync();
  await wasmReady;
}

/**
 * Closes the SQLite files of one crypto store after its machine was closed. Handles still inside a transaction are
 * left alone (the shim finishes it on its own schedule); they are closed by a later call or at exit.
 * Returns how many handles were closed.
 */
export function releaseStoreFiles(storeName: string): number {
  if (!installed) return 0;
  let closed = 0;
  for (const [name, set] of installed.handles) {
    if (!name.startsWith(`${storeName}::`)) continue;
    for (const db of set) {
      const raw = db._db?._db?._db;
      if (!raw || !raw.open) {
        set.delete(db);
        continue;
      }
      if (raw.inTransaction) continue;
      raw.close();
      set.delete(db);
      closed++;
    }
    if (set.size === 0) installed.handles.delete(name);
  }
  return closed;
}

/** SQLite handles currently held for a store (tests check that closing releases them). */
export function openStoreFiles(storeName: string): number {
  let n = 0;
  for (const [name, set] of installed?.handles ?? []) if (name.startsWith(`${storeName}::`)) n += set.size;
  return n;
}
