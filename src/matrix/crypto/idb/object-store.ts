// IDBObjectStore and IDBIndex. Arguments are checked and values cloned when a request is placed (as IndexedDB does:
// the caller may reuse its objects right away); the operation itself runs in the transaction's turn.
//
// What the crypto engine's store does not use is refused with a clear error instead of half-implemented: key paths
// and key generators on object stores, multiEntry indexes and cursor directions other than "next".
import { deserializeValue, placedIndexKeys, serializeValue, type IndexEntry, type IndexState, type RecordEntry, type StoreState } from "./database-state.js";
import { idbError } from "./errors.js";
import { stringList } from "./events.js";
import { decodeKey, encodeKey, type IdbKey } from "./key-codec.js";
import { toRange, type IDBKeyRange } from "./key-range.js";
import { IDBCursor, IDBCursorWithValue, type CursorSource } from "./cursor.js";
import type { IDBRequest } from "./request.js";
import type { TransactionLike } from "./contracts.js";

/** A key handed to the caller: primitives as they are, objects (arrays, dates, binaries) as a fresh copy. */
export function keyOut(key: IdbKey, k: Buffer): IdbKey {
  return typeof key === "object" ? decodeKey(k) : key;
}

function limitOf(count: unknown): number {
  if (count === undefined || count === 0) return Infinity;
  const n = Number(count);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new TypeError(`count must be an unsigned 32-bit integer, got ${String(count)}`);
  return n;
}

function requireQuery(query: unknown, what: string): IDBKeyRange {
  const range = toRange(query, false);
  if (!range) throw idbError("DataError", `${what} needs a key or a key range`);
  return range;
}

function checkDirection(direction: unknown): void {
  if (direction !== undefined && direction !== "next") throw idbError("NotSupportedError", `cursor direction ${String(direction)} is not supported by the bridge's IndexedDB (only "next")`);
}

export class IDBObjectStore {
  readonly keyPath = null;
  readonly autoIncrement = false;
  /** @internal: set when the store is deleted in an upgrade */ deleted = false;
  private readonly indexCache = new Map<string, IDBIndex>();

  constructor(
    readonly transaction: TransactionLike,
    private readonly storeName: string,
  ) {}

  get name(): string {
    return this.storeName;
  }

  get indexNames(): string[] {
    return stringList(this.state().indexes.keys());
  }

  /** @internal */
  state(): StoreState {
    const s = this.deleted ? undefined : this.transaction.db.handle.state.stores.get(this.storeName);
    if (!s) throw idbError("InvalidStateError", `the object store ${this.storeName} has been deleted`);
    return s;
  }

  put(value: unknown, key?: unknown): IDBRequest {
    return this.write(value, key, false);
  }

  add(value: unknown, key?: unknown): IDBRequest {
    return this.write(value, key, true);
  }

  private write(value: unknown, key: unknown, noOverwrite: boolean): IDBRequest {
    const tx = this.transaction;
    tx.assertWritable();
    const store = this.state();
    if (key === undefined) throw idbError("DataError", `the object store ${this.storeName} has out-of-line keys and no key generator: put and add need a key`);
    const k = encodeKey(key);
    const stored = decodeKey(k);
    const v = serializeValue(value);
    const ix = placedIndexKeys(store, value);
    return tx.place(this, () => {
      tx.db.handle.state.putRecord(this.state(), stored, k, v, ix, noOverwrite, tx.log);
      return keyOut(stored, k);
    });
  }

  delete(query: unknown): IDBRequest {
    const tx = this.transaction;
    tx.assertWritable();
    this.state();
    const range = requireQuery(query, "delete");
    return tx.place(this, () => {
      const store = this.state();
      for (const r of [...store.records.inRange(range)]) tx.db.handle.state.deleteRecord(store, r.k, tx.log);
      return undefined;
    });
  }

  clear(): IDBRequest {
    const tx = this.transaction;
    tx.assertWritable();
    this.state();
    return tx.place(this, () => {
      tx.db.handle.state.clearStore(this.state(), tx.log);
      return undefined;
    });
  }

  get(query: unknown): IDBRequest {
    const range = this.readable(query, "get");
    return this.transaction.place(this, () => {
      const r = this.state().records.firstIn(range);
      return r ? deserializeValue(r.v) : undefined;
    });
  }

  getKey(query: unknown): IDBRequest {
    const range = this.readable(query, "getKey");
    return this.transaction.place(this, () => {
      const r = this.state().records.firstIn(range);
      return r ? keyOut(r.key, r.k) : undefined;
    });
  }

  getAll(query?: unknown, count?: unknown): IDBRequest {
    this.transaction.assertActive();
    const range = toRange(query);
    const limit = limitOf(count);
    this.state();
    return this.transaction.place(this, () => [...this.state().records.inRange(range, limit)].map((r) => deserializeValue(r.v)));
  }

  getAllKeys(query?: unknown, count?: unknown): IDBRequest {
    this.transaction.assertActive();
    const range = toRange(query);
    const limit = limitOf(count);
    this.state();
    return this.transaction.place(this, () => [...this.state().records.inRange(range, limit)].map((r) => keyOut(r.key, r.k)));
  }

  count(query?: unknown): IDBRequest {
    this.transaction.assertActive();
    const range = toRange(query);
    this.state();
    return this.transaction.place(this, () => {
      const records = this.state().records;
      if (!range) return records.size;
      let n = 0;
      for (const _ of records.inRange(range)) n++;
      return n;
    });
  }

  openCursor(query?: unknown, direction?: unknown): IDBRequest {
    return this.cursor(query, direction, true);
  }

  openKeyCursor(query?: unknown, direction?: unknown): IDBRequest {
    return this.cursor(query, direction, false);
  }

  private cursor(query: unknown, direction: unknown, withValue: boolean): IDBRequest {
    this.transaction.assertActive();
    checkDirection(direction);
    const range = toRange(query);
    this.state();
    const source: CursorSource = {
      owner: this,
      store: () => this.state(),
      next: (from, seek) => {
        const list = this.state().records;
        const r = seek ? list.firstIn(range, undefined, undefined, seek) : list.firstIn(range, from);
        return r && { pos: r.k, key: keyOut(r.key, r.k), record: r };
      },
    };
    return withValue ? IDBCursorWithValue.open(this.transaction, source) : IDBCursor.open(this.transaction, source);
  }

  index(name: string): IDBIndex {
    if (this.transaction.state === "finished") throw idbError("InvalidStateError", "the transaction has finished");
    if (!this.state().indexes.has(name)) throw idbError("NotFoundError", `the object store ${this.storeName} has no index named ${JSON.stringify(name)}`);
    let i = this.indexCache.get(name);
    if (!i) this.indexCache.set(name, (i = new IDBIndex(this, name)));
    return i;
  }

  createIndex(name: string, keyPath: string | string[], options?: { unique?: boolean; multiEntry?: boolean }): IDBIndex {
    const tx = this.transaction;
    if (tx.mode !== "versionchange") throw idbError("InvalidStateError", "indexes can only be created while the database is upgraded");
    tx.assertActive();
    if (options?.multiEntry) throw idbError("NotSupportedError", "multiEntry indexes are not supported by the bridge's IndexedDB");
    const path = Array.isArray(keyPath) ? [...keyPath].map(String) : String(keyPath);
    tx.db.handle.state.createIndex(this.state(), { name, keyPath: path, unique: options?.unique === true, multiEntry: false }, tx.log);
    return this.index(name);
  }

  deleteIndex(name: string): void {
    const tx = this.transaction;
    if (tx.mode !== "versionchange") throw idbError("InvalidStateError", "indexes can only be deleted while the database is upgraded");
    tx.assertActive();
    tx.db.handle.state.deleteIndex(this.state(), name, tx.log);
    this.indexCache.delete(name);
  }

  private readable(query: unknown, what: string): IDBKeyRange {
    this.transaction.assertActive();
    const range = requireQuery(query, what);
    this.state();
    return range;
  }
}

export class IDBIndex {
  constructor(
    readonly objectStore: IDBObjectStore,
    readonly name: string,
  ) {}

  /** @internal */
  state(): IndexState {
    const i = this.objectStore.state().indexes.get(this.name);
    if (!i) throw idbError("InvalidStateError", `the index ${this.name} has been deleted`);
    return i;
  }

  get keyPath(): string | string[] {
    return this.state().schema.keyPath;
  }

  get unique(): boolean {
    return this.state().schema.unique;
  }

  get multiEntry(): boolean {
    return false;
  }

  private get tx(): TransactionLike {
    return this.objectStore.transaction;
  }

  private first(range: IDBKeyRange): IndexEntry | undefined {
    return this.state().entries.firstIn(range, undefined, ik);
  }

  get(query: unknown): IDBRequest {
    const range = this.readable(query, "get");
    return this.tx.place(this, () => {
      const e = this.first(range);
      return e ? deserializeValue(e.record.v) : undefined;
    });
  }

  getKey(query: unknown): IDBRequest {
    const range = this.readable(query, "getKey");
    return this.tx.place(this, () => {
      const e = this.first(range);
      return e ? keyOut(e.record.key, e.record.k) : undefined;
    });
  }

  getAll(query?: unknown, count?: unknown): IDBRequest {
    const { range, limit } = this.scan(query, count);
    return this.tx.place(this, () => [...this.state().entries.inRange(range, limit, ik)].map((e) => deserializeValue(e.record.v)));
  }

  getAllKeys(query?: unknown, count?: unknown): IDBRequest {
    const { range, limit } = this.scan(query, count);
    return this.tx.place(this, () => [...this.state().entries.inRange(range, limit, ik)].map((e) => keyOut(e.record.key, e.record.k)));
  }

  count(query?: unknown): IDBRequest {
    const { range } = this.scan(query, undefined);
    return this.tx.place(this, () => {
      if (!range) return this.state().entries.size;
      let n = 0;
      for (const _ of this.state().entries.inRange(range, Infinity, ik)) n++;
      return n;
    });
  }

  openCursor(query?: unknown, direction?: unknown): IDBRequest {
    return this.cursor(query, direction, true);
  }

  openKeyCursor(query?: unknown, direction?: unknown): IDBRequest {
    return this.cursor(query, direction, false);
  }

  private cursor(query: unknown, direction: unknown, withValue: boolean): IDBRequest {
    checkDirection(direction);
    const { range } = this.scan(query, undefined);
    const source: CursorSource = {
      owner: this,
      store: () => this.objectStore.state(),
      next: (from, seek) => {
        const list = this.state().entries;
        const e = seek ? list.firstIn(range, undefined, ik, seek) : list.firstIn(range, from, ik);
        return e && { pos: e.k, key: keyOut(e.key, e.ik), record: e.record };
      },
    };
    return withValue ? IDBCursorWithValue.open(this.tx, source) : IDBCursor.open(this.tx, source);
  }

  private readable(query: unknown, what: string): IDBKeyRange {
    this.tx.assertActive();
    const range = requireQuery(query, what);
    this.state();
    return range;
  }

  private scan(query: unknown, count: unknown): { range: IDBKeyRange | undefined; limit: number } {
    this.tx.assertActive();
    const range = toRange(query);
    const limit = limitOf(count);
    this.state();
    return { range, limit };
  }
}

const ik = (e: IndexEntry): Buffer => e.ik;

export type { RecordEntry };
