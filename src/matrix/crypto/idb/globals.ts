// The IndexedDB globals the crypto engine's wasm looks up (indexedDB, IDBKeyRange, and the classes it checks results
// against with instanceof), pointing at the bridge's own implementation.
import { IDBCursor, IDBCursorWithValue } from "./cursor.js";
import { IDBDatabase } from "./database.js";
import { IDBFactory } from "./factory.js";
import { IDBKeyRange } from "./key-range.js";
import { IDBIndex, IDBObjectStore } from "./object-store.js";
import { IDBOpenDBRequest, IDBRequest } from "./request.js";
import { IDBTransaction } from "./transaction.js";

export { IDBCursor, IDBCursorWithValue, IDBDatabase, IDBFactory, IDBIndex, IDBKeyRange, IDBObjectStore, IDBOpenDBRequest, IDBRequest, IDBTransaction };

const CLASSES = { IDBCursor, IDBCursorWithValue, IDBDatabase, IDBFactory, IDBIndex, IDBKeyRange, IDBObjectStore, IDBOpenDBRequest, IDBRequest, IDBTransaction };

/** Installs `factory` as the process's indexedDB; refuses when another IndexedDB implementation is there. */
export function installIndexedDbGlobals(factory: IDBFactory): void {
  const g = globalThis as Record<string, unknown>;
  if (g["indexedDB"] === factory) return;
  if (g["indexedDB"] !== undefined) {
    throw new Error("another IndexedDB implementation is already installed in this process; the Matrix crypto store needs the bridge's own");
  }
  for (const [name, cls] of Object.entries(CLASSES)) Object.defineProperty(g, name, { value: cls, configurable: true, writable: true });
  Object.defineProperty(g, "indexedDB", { value: factory, configurable: true, writable: true });
}
