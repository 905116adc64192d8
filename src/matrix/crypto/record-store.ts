// The persistence port of the crypto engine's IndexedDB (src/matrix/crypto/idb/): whole databases loaded when a
// device's store opens, and each committed IndexedDB transaction written as one atomic unit. Implemented over the
// bridge database by src/store/crypto-records.ts; keys and values are opaque bytes here (the IndexedDB layer encodes
// keys order-preserving and values as structured clones; values are already encrypted by the engine's store key).

export interface IndexSchema {
  name: string;
  keyPath: string | string[];
  unique: boolean;
  multiEntry: boolean;
}

export interface ObjectStoreSchema {
  name: string;
  indexes: IndexSchema[];
}

export interface DatabaseSchema {
  version: number;
  stores: ObjectStoreSchema[];
}

export interface StoredRecord {
  store: string;
  key: Uint8Array;
  value: Uint8Array;
}

export interface StoredDatabase {
  schema: DatabaseSchema;
  records: StoredRecord[];
}

export interface RecordChange {
  /** The schema after the transaction, when it changed it (upgrade transactions only). */
  schema?: DatabaseSchema;
  /** Object stores whose records are all removed before the writes (cleared, or deleted and maybe re-created). */
  cleared: string[];
  /** One entry per changed key: its new value, or null when it was deleted. */
  writes: { store: string; key: Uint8Array; value: Uint8Array | null }[];
}

export interface CryptoRecordStore {
  /** Everything stored for one IndexedDB database; undefined when it was never created. */
  load(database: string): Promise<StoredDatabase | undefined>;
  /** Applies one IndexedDB transaction: all of it or nothing, durable when the promise resolves. */
  commit(database: string, change: RecordChange): Promise<void>;
  /** Removes a database and its records. */
  drop(database: string): Promise<void>;
  /** The names of the stored databases (for diagnostics and tests). */
  names(): Promise<string[]>;
}
