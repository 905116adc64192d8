// The Matrix crypto engine's IndexedDB records (src/matrix/crypto/record-store.ts) in the bridge database: one row
// per record of every device, each IndexedDB transaction committed as one SQLite transaction. Statements are
// prepared once; better-sqlite3 is synchronous, so the promises resolve once the commit is on disk (WAL, durable
// against a crashed process).
import type { Statement } from "better-sqlite3";
import type { CryptoRecordStore, DatabaseSchema, RecordChange, StoredDatabase } from "../matrix/crypto/record-store.js";
import type { SqliteDb } from "./database.js";

export class CryptoRecordTable implements CryptoRecordStore {
  private readonly getSchema: Statement<[string], { schema: string }>;
  private readonly getRecords: Statement<[string], { store: string; key: Buffer; value: Buffer }>;
  private readonly putSchema: Statement<[string, string]>;
  private readonly clearStore: Statement<[string, string]>;
  private readonly putRecord: Statement<[string, string, Uint8Array, Uint8Array]>;
  private readonly deleteRecord: Statement<[string, string, Uint8Array]>;
  private readonly dropRecords: Statement<[string]>;
  private readonly dropSchema: Statement<[string]>;
  private readonly listNames: Statement<[], { name: string }>;
  private readonly apply: (database: string, change: RecordChange) => void;

  constructor(private readonly db: SqliteDb) {
    this.getSchema = db.prepare("SELECT schema FROM crypto_idb_databases WHERE name = ?");
    this.getRecords = db.prepare("SELECT store, key, value FROM crypto_idb_records WHERE db = ?");
    this.putSchema = db.prepare("INSERT INTO crypto_idb_databases (name, schema) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET schema = excluded.schema");
    this.clearStore = db.prepare("DELETE FROM crypto_idb_records WHERE db = ? AND store = ?");
    this.putRecord = db.prepare(
      "INSERT INTO crypto_idb_records (db, store, key, value) VALUES (?, ?, ?, ?) ON CONFLICT(db, store, key) DO UPDATE SET value = excluded.value",
    );
    this.deleteRecord = db.prepare("DELETE FROM crypto_idb_records WHERE db = ? AND store = ? AND key = ?");
    this.dropRecords = db.prepare("DELETE FROM crypto_idb_records WHERE db = ?");
    this.dropSchema = db.prepare("DELETE FROM crypto_idb_databases WHERE name = ?");
    this.listNames = db.prepare("SELECT name FROM crypto_idb_databases ORDER BY name");
    this.apply = db.transaction((database: string, change: RecordChange) => {
      if (change.schema) this.putSchema.run(database, JSON.stringify(change.schema));
      else if (!this.getSchema.get(database)) throw new Error(`the crypto store ${database} does not exist (its records cannot be written)`);
      for (const store of change.cleared) this.clearStore.run(database, store);
      for (const w of change.writes) {
        if (w.value === null) this.deleteRecord.run(database, w.store, w.key);
        else this.putRecord.run(database, w.store, w.key, w.value);
      }
    });
  }

  async load(database: string): Promise<StoredDatabase | undefined> {
    return this.db.transaction(() => {
      const row = this.getSchema.get(database);
      if (!row) return undefined;
      return { schema: JSON.parse(row.schema) as DatabaseSchema, records: this.getRecords.all(database) };
    })();
  }

  async commit(database: string, change: RecordChange): Promise<void> {
    this.apply(database, change);
  }

  async drop(database: string): Promise<void> {
    this.db.transaction(() => {
      this.dropRecords.run(database);
      this.dropSchema.run(database);
    })();
  }

  async names(): Promise<string[]> {
    return this.listNames.all().map((r) => r.name);
  }
}
