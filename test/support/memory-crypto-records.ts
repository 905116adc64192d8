// A CryptoRecordStore in memory, for tests of the IndexedDB layer: it copies bytes in and out like a real database
// would, counts commits, and can be told to fail the next commit.
import type { CryptoRecordStore, DatabaseSchema, RecordChange, StoredDatabase } from "../../src/matrix/crypto/record-store.js";

interface Db {
  schema: DatabaseSchema;
  records: Map<string, { store: string; key: Uint8Array; value: Uint8Array }>;
}

const id = (store: string, key: Uint8Array) => `${store}\u0000${Buffer.from(key).toString("hex")}`;

export class MemoryCryptoRecords implements CryptoRecordStore {
  readonly dbs = new Map<string, Db>();
  commits = 0;
  loads = 0;
  failNextCommit: Error | undefined;

  async load(database: string): Promise<StoredDatabase | undefined> {
    this.loads++;
    const db = this.dbs.get(database);
    if (!db) return undefined;
    return {
      schema: structuredClone(db.schema),
      records: [...db.records.values()].map((r) => ({ store: r.store, key: Uint8Array.from(r.key), value: Uint8Array.from(r.value) })),
    };
  }

  async commit(database: string, change: RecordChange): Promise<void> {
    if (this.failNextCommit) {
      const err = this.failNextCommit;
      this.failNextCommit = undefined;
      throw err;
    }
    this.commits++;
    let db = this.dbs.get(database);
    if (!db) {
      if (!change.schema) throw new Error(`commit to ${database}, which has no schema yet`);
      db = { schema: change.schema, records: new Map() };
      this.dbs.set(database, db);
    }
    if (change.schema) db.schema = structuredClone(change.schema);
    for (const store of change.cleared) for (const [k, r] of db.records) if (r.store === store) db.records.delete(k);
    for (const w of change.writes) {
      if (w.value === null) db.records.delete(id(w.store, w.key));
      else db.records.set(id(w.store, w.key), { store: w.store, key: Uint8Array.from(w.key), value: Uint8Array.from(w.value) });
    }
  }

  async drop(database: string): Promise<void> {
    this.dbs.delete(database);
  }

  async names(): Promise<string[]> {
    return [...this.dbs.keys()];
  }
}
