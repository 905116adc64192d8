// The Matrix crypto engine's IndexedDB records (src/matrix/crypto/record-store.ts) in the bridge database: one row
// per record of every device, each IndexedDB transaction committed as one database transaction, on SQLite or
// PostgreSQL. A commit resolves once the database has it (SQLite in WAL mode: durable against a crashed process).
//
// The crypto state commits on its own, never as part of a caller's unit of work: a ratchet step the engine was told
// is saved must not be rolled back with someone else's transaction. So the crypto engine must not be called from
// inside a store transaction; a write from there fails loudly here (on SQLite it would otherwise wait for that very
// transaction to end).
import type { CryptoRecordStore, DatabaseSchema, RecordChange, StoredDatabase } from "../matrix/crypto/record-store.js";
import type { SqlDatabase } from "../sql/sql.js";

export class CryptoRecordTable implements CryptoRecordStore {
  constructor(private readonly db: SqlDatabase) {}

  async load(database: string): Promise<StoredDatabase | undefined> {
    this.refuseInsideTransaction("read");
    return this.db.transaction(async () => {
      const row = await this.db.get<{ schema: string }>("SELECT schema FROM crypto_idb_databases WHERE name = ?", [database]);
      if (!row) return undefined;
      const records = await this.db.all<{ store: string; key: Uint8Array; value: Uint8Array }>("SELECT store, key, value FROM crypto_idb_records WHERE db = ?", [database]);
      return { schema: JSON.parse(row.schema) as DatabaseSchema, records };
    });
  }

  async commit(database: string, change: RecordChange): Promise<void> {
    this.refuseInsideTransaction("written");
    await this.db.transaction(async () => {
      if (change.schema) {
        await this.db.run("INSERT INTO crypto_idb_databases (name, schema) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET schema = excluded.schema", [
          database,
          JSON.stringify(change.schema),
        ]);
      } else if (!(await this.db.get("SELECT 1 AS one FROM crypto_idb_databases WHERE name = ?", [database]))) {
        throw new Error(`the crypto store ${database} does not exist (its records cannot be written)`);
      }
      for (const store of change.cleared) await this.db.run("DELETE FROM crypto_idb_records WHERE db = ? AND store = ?", [database, store]);
      for (const w of change.writes) {
        if (w.value === null) await this.db.run("DELETE FROM crypto_idb_records WHERE db = ? AND store = ? AND key = ?", [database, w.store, w.key]);
        else {
          await this.db.run("INSERT INTO crypto_idb_records (db, store, key, value) VALUES (?, ?, ?, ?) ON CONFLICT(db, store, key) DO UPDATE SET value = excluded.value", [
            database,
            w.store,
            w.key,
            w.value,
          ]);
        }
      }
    });
  }

  async drop(database: string): Promise<void> {
    await this.db.transaction(async () => {
      await this.db.run("DELETE FROM crypto_idb_records WHERE db = ?", [database]);
      await this.db.run("DELETE FROM crypto_idb_databases WHERE name = ?", [database]);
    });
  }

  async names(): Promise<string[]> {
    return (await this.db.all<{ name: string }>("SELECT name FROM crypto_idb_databases ORDER BY name")).map((r) => r.name);
  }

  private refuseInsideTransaction(what: string): void {
    if (this.db.inTransaction) {
      throw new Error(`the Matrix crypto store was ${what} from inside a database transaction; crypto operations must run outside store transactions`);
    }
  }
}
