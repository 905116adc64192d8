// The in-memory content of one IndexedDB database while a connection has it open: object stores of records sorted by
// encoded key, their indexes, and the schema. Every change goes through a ChangeLog, which can undo it (abort) and
// hands the committed net effect to the record store.
import { deserialize, serialize } from "node:v8";
import type { DatabaseSchema, IndexSchema, ObjectStoreSchema, RecordChange, StoredDatabase } from "../record-store.js";
import { idbError } from "./errors.js";
import { decodeKey, tryEncodeKey, valueAtKeyPath, type IdbKey } from "./key-codec.js";
import { SortedList } from "./sorted-list.js";

export interface RecordEntry {
  readonly k: Buffer;
  readonly key: IdbKey;
  /** The value as a structured clone (so every read hands out a fresh copy, as IndexedDB does). */
  readonly v: Buffer;
  /** Its key in each index of the store that covers it. */
  readonly ix: ReadonlyMap<string, Buffer> | undefined;
}

export interface IndexEntry {
  /** The index key followed by the primary key: both are self-delimiting, so bytes order by (index key, primary key). */
  readonly k: Buffer;
  readonly ik: Buffer;
  readonly key: IdbKey;
  readonly record: RecordEntry;
}

export class IndexState {
  readonly entries = new SortedList<IndexEntry>();
  constructor(readonly schema: IndexSchema) {}
}

export class StoreState {
  readonly records = new SortedList<RecordEntry>();
  readonly indexes = new Map<string, IndexState>();
  constructor(public name: string) {}

  schema(): ObjectStoreSchema {
    return { name: this.name, indexes: [...this.indexes.values()].map((i) => ({ ...i.schema })) };
  }
}

export function serializeValue(value: unknown): Buffer {
  try {
    return serialize(value);
  } catch (err) {
    throw idbError("DataCloneError", `the value cannot be stored: ${(err as Error).message}`);
  }
}

export function deserializeValue(v: Buffer): unknown {
  return deserialize(v);
}

/** What one transaction changed, and how to undo it. */
export class ChangeLog {
  private readonly undo: (() => void)[] = [];
  private readonly writes = new Map<string, Map<string, { k: Buffer; v: Buffer | null }>>();
  private readonly cleared = new Set<string>();
  schemaChanged = false;

  onUndo(fn: () => void): void {
    this.undo.push(fn);
  }

  wrote(store: string, k: Buffer, v: Buffer | null): void {
    let m = this.writes.get(store);
    if (!m) this.writes.set(store, (m = new Map()));
    m.set(k.toString("latin1"), { k, v });
  }

  clearedStore(store: string): void {
    this.cleared.add(store);
    this.writes.delete(store);
  }

  get empty(): boolean {
    return !this.schemaChanged && this.cleared.size === 0 && this.writes.size === 0;
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo.length = 0;
  }

  change(db: DatabaseState): RecordChange {
    const writes: RecordChange["writes"] = [];
    for (const [store, m] of this.writes) for (const w of m.values()) writes.push({ store, key: w.k, value: w.v });
    return { ...(this.schemaChanged ? { schema: db.schema() } : {}), cleared: [...this.cleared], writes };
  }
}

export class DatabaseState {
  readonly stores = new Map<string, StoreState>();

  constructor(
    readonly name: string,
    public version: number,
  ) {}

  static load(name: string, stored: StoredDatabase): DatabaseState {
    const db = new DatabaseState(name, stored.schema.version);
    for (const s of stored.schema.stores) {
      const store = new StoreState(s.name);
      for (const i of s.indexes) store.indexes.set(i.name, new IndexState({ ...i }));
      db.stores.set(s.name, store);
    }
    for (const r of stored.records) {
      const store = db.stores.get(r.store);
      if (!store) throw new Error(`the crypto store ${name} has records in an object store its schema does not have (${r.store})`);
      const k = Buffer.from(r.key);
      const v = Buffer.from(r.value);
      const value = store.indexes.size > 0 ? deserializeValue(v) : undefined;
      const entry: RecordEntry = { k, key: decodeKey(k), v, ix: indexKeys(store, value) };
      store.records.put(entry);
      addToIndexes(store, entry);
    }
    return db;
  }

  schema(): DatabaseSchema {
    return { version: this.version, stores: [...this.stores.values()].map((s) => s.schema()) };
  }

  store(name: string): StoreState {
    const s = this.stores.get(name);
    if (!s) throw idbError("NotFoundError", `no object store named ${JSON.stringify(name)}`);
    return s;
  }

  // ---------------------------------------------------------------------------------------------- schema changes

  createStore(name: string, log: ChangeLog): StoreState {
    if (this.stores.has(name)) throw idbError("ConstraintError", `an object store named ${JSON.stringify(name)} exists already`);
    const store = new StoreState(name);
    this.stores.set(name, store);
    log.schemaChanged = true;
    log.clearedStore(name); // a store deleted earlier in this transaction leaves nothing behind
    log.onUndo(() => this.stores.delete(name));
    return store;
  }

  deleteStore(name: string, log: ChangeLog): void {
    const store = this.store(name);
    this.stores.delete(name);
    log.schemaChanged = true;
    log.clearedStore(name);
    log.onUndo(() => this.stores.set(name, store));
  }

  createIndex(store: StoreState, schema: IndexSchema, log: ChangeLog): IndexState {
    if (store.indexes.has(schema.name)) throw idbError("ConstraintError", `the object store ${store.name} has an index named ${schema.name} already`);
    const index = new IndexState(schema);
    const oldEntries = store.records.items.slice();
    const rebuilt: RecordEntry[] = [];
    for (const r of oldEntries) {
      const ik = indexKeyFor(schema, deserializeValue(r.v));
      const ix = new Map(r.ix ?? []);
      if (ik) {
        if (schema.unique && hasIndexKey(index, ik)) {
          throw idbError("ConstraintError", `index ${schema.name} is unique but two records have the same key`);
        }
        ix.set(schema.name, ik);
      }
      const entry: RecordEntry = { ...r, ix: ix.size > 0 ? ix : undefined };
      if (ik) index.entries.put({ k: Buffer.concat([ik, r.k]), ik, key: decodeKey(ik), record: entry });
      rebuilt.push(entry);
    }
    // Records are replaced by ones that know their key in the new index; the old ones come back on undo.
    for (const e of rebuilt) store.records.put(e);
    for (const other of store.indexes.values()) reindexRecords(other, rebuilt);
    store.indexes.set(schema.name, index);
    log.schemaChanged = true;
    log.onUndo(() => {
      store.indexes.delete(schema.name);
      for (const r of oldEntries) store.records.put(r);
      for (const other of store.indexes.values()) reindexRecords(other, oldEntries);
    });
    return index;
  }

  deleteIndex(store: StoreState, name: string, log: ChangeLog): void {
    const index = store.indexes.get(name);
    if (!index) throw idbError("NotFoundError", `the object store ${store.name} has no index named ${name}`);
    store.indexes.delete(name);
    log.schemaChanged = true;
    log.onUndo(() => store.indexes.set(name, index));
  }

  setVersion(version: number, log: ChangeLog): void {
    const old = this.version;
    this.version = version;
    log.schemaChanged = true;
    log.onUndo(() => (this.version = old));
  }

  // ---------------------------------------------------------------------------------------------- records

  /**
   * Stores a value cloned when the request was placed (`v`, with its index keys `ix` as of then); `noOverwrite` is
   * add(): an existing key is a ConstraintError.
   */
  putRecord(store: StoreState, key: IdbKey, k: Buffer, v: Buffer, ix: PlacedIndexKeys, noOverwrite: boolean, log: ChangeLog): void {
    const old = store.records.get(k);
    if (old && noOverwrite) throw idbError("ConstraintError", `a record with this key exists already in ${store.name}`);
    // An index created after the request was placed (same upgrade transaction) needs the keys computed afresh.
    const keys = ix.indexes === store.indexes.size && [...store.indexes.keys()].every((n) => ix.names.includes(n)) ? ix.keys : indexKeys(store, deserializeValue(v));
    const entry: RecordEntry = { k, key, v, ix: keys };
    // Unique indexes are checked before anything changes, so a failed put leaves no trace.
    for (const index of store.indexes.values()) {
      if (!index.schema.unique) continue;
      const ik = entry.ix?.get(index.schema.name);
      if (!ik) continue;
      const clash = firstWithIndexKey(index, ik);
      if (clash && !clash.record.k.equals(k)) throw idbError("ConstraintError", `the unique index ${index.schema.name} of ${store.name} has this key already`);
    }
    if (old) removeFromIndexes(store, old);
    store.records.put(entry);
    addToIndexes(store, entry);
    log.wrote(store.name, k, v);
    log.onUndo(() => {
      removeFromIndexes(store, entry);
      if (old) {
        store.records.put(old);
        addToIndexes(store, old);
      } else store.records.delete(k);
    });
  }

  deleteRecord(store: StoreState, k: Buffer, log: ChangeLog): void {
    const old = store.records.delete(k);
    if (!old) return;
    removeFromIndexes(store, old);
    log.wrote(store.name, k, null);
    log.onUndo(() => {
      store.records.put(old);
      addToIndexes(store, old);
    });
  }

  clearStore(store: StoreState, log: ChangeLog): void {
    const old = store.records.items.slice();
    store.records.clear();
    for (const index of store.indexes.values()) index.entries.clear();
    log.clearedStore(store.name);
    // An undo after a clear re-adds every record; whatever was written to the store before the clear is undone by
    // its own (earlier) undo step.
    log.onUndo(() => {
      for (const r of old) {
        store.records.put(r);
        addToIndexes(store, r);
      }
    });
  }
}

function indexKeyFor(schema: IndexSchema, value: unknown): Buffer | undefined {
  const raw = valueAtKeyPath(value, schema.keyPath);
  return raw === undefined ? undefined : tryEncodeKey(raw);
}

/** A value's index keys computed when its put was placed, and which indexes existed then. */
export interface PlacedIndexKeys {
  indexes: number;
  names: string[];
  keys: Map<string, Buffer> | undefined;
}

export function placedIndexKeys(store: StoreState, value: unknown): PlacedIndexKeys {
  return { indexes: store.indexes.size, names: [...store.indexes.keys()], keys: indexKeys(store, value) };
}

function indexKeys(store: StoreState, value: unknown): Map<string, Buffer> | undefined {
  if (store.indexes.size === 0) return undefined;
  let out: Map<string, Buffer> | undefined;
  for (const index of store.indexes.values()) {
    const ik = indexKeyFor(index.schema, value);
    if (ik) (out ??= new Map()).set(index.schema.name, ik);
  }
  return out;
}

function addToIndexes(store: StoreState, r: RecordEntry): void {
  if (!r.ix) return;
  for (const [name, ik] of r.ix) {
    const index = store.indexes.get(name);
    if (index) index.entries.put({ k: Buffer.concat([ik, r.k]), ik, key: decodeKey(ik), record: r });
  }
}

function removeFromIndexes(store: StoreState, r: RecordEntry): void {
  if (!r.ix) return;
  for (const [name, ik] of r.ix) store.indexes.get(name)?.entries.delete(Buffer.concat([ik, r.k]));
}

/** Points the index's entries at the given record objects (same keys, new objects after an index was added). */
function reindexRecords(index: IndexState, records: RecordEntry[]): void {
  for (const r of records) {
    const ik = r.ix?.get(index.schema.name);
    if (ik) index.entries.put({ k: Buffer.concat([ik, r.k]), ik, key: decodeKey(ik), record: r });
  }
}

function firstWithIndexKey(index: IndexState, ik: Buffer): IndexEntry | undefined {
  const e = index.entries.items[index.entries.position(ik)];
  return e && e.ik.equals(ik) ? e : undefined;
}

function hasIndexKey(index: IndexState, ik: Buffer): boolean {
  return firstWithIndexKey(index, ik) !== undefined;
}
