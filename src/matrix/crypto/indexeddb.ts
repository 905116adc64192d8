// The crypto engine (matrix-sdk-crypto-wasm) persists only through IndexedDB. The bridge provides its own
// (src/matrix/crypto/idb/): each device's databases live in memory while its machine is open, loaded from and
// written through to the bridge's database (a CryptoRecordStore), one database transaction per IndexedDB
// transaction, durable before the engine sees it complete.
import { initAsync } from "@matrix-org/matrix-sdk-crypto-wasm";
import { IDBFactory } from "./idb/factory.js";
import { installIndexedDbGlobals } from "./idb/globals.js";
import type { CryptoRecordStore } from "./record-store.js";
import { watchWasmMemory } from "./wasm-memory.js";

const factory = new IDBFactory();
let wasmReady: Promise<void> | undefined;

/**
 * Makes IndexedDB (backed by `records`) available and loads the crypto engine's wasm module. One record store at a
 * time per process: another may take over once every database of the previous one is closed.
 */
export async function installCryptoStorage(records: CryptoRecordStore, onCommitFailure?: (database: string, err: unknown) => void): Promise<void> {
  installIndexedDbGlobals(factory);
  factory.attach(records, { commitFailed: onCommitFailure ?? (() => undefined) });
  watchWasmMemory();
  wasmReady ??= initAsync();
  await wasmReady;
}

/** The record store is going away (the engine stopped). */
export function detachCryptoStorage(records: CryptoRecordStore): void {
  factory.detach(records);
}

/** IndexedDB databases held in memory now (tests check that closed machines release theirs). */
export function loadedCryptoDatabases(): number {
  return factory.loadedCount;
}

/** The device store an IndexedDB database of the crypto engine belongs to. */
export function storeNameOfDatabase(database: string): string {
  return database.replace(/::matrix-sdk-crypto(-meta)?$/, "");
}

/** Whether a device store (by its store name) has a database in memory. */
export function isStoreLoaded(storeName: string): boolean {
  return factory.isLoaded(`${storeName}::matrix-sdk-crypto`) || factory.isLoaded(`${storeName}::matrix-sdk-crypto-meta`);
}
