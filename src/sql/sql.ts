// The one database interface every store module is written against, with an engine for SQLite (embedded default) and
// one for PostgreSQL. Statements are written once, with `?` placeholders, in the SQL both engines understand
// (upserts as `ON CONFLICT ... DO UPDATE`, `RETURNING` instead of last-insert IDs).
//
// A unit of work is `transaction(async () => ...)`: every statement issued from inside it — through any store module,
// however deep the awaits — runs on the transaction's connection, because the transaction travels in an
// AsyncLocalStorage. A nested call becomes a savepoint, so a failing inner step rolls back only itself.

export type SqlValue = string | number | bigint | Uint8Array | null;
export type SqlRow = Record<string, unknown>;
export type SqlEngineName = "sqlite" | "postgres";

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface SqlExecutor {
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  get<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  all<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly engine: SqlEngineName;
  /** Runs fn atomically; statements issued inside it (at any depth) join it, nested calls are savepoints. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the calling async context is inside a transaction of this database. */
  readonly inTransaction: boolean;
  /**
   * Runs `fn` once the calling context's transaction has ended (committed or rolled back), at once outside one: for
   * telling others about rows they can only see after the commit. Optional, so wrappers need not have it.
   */
  afterTransaction?(fn: () => void): void;
  /** Several statements separated by `;`, no parameters (schema changes). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

/** A database error the caller can act on without parsing messages. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

export type StoreErrorCode =
  /** The disk (or the database's quota) is full; retry later, nothing was written. */
  | "disk-full"
  /** The database could not be reached or the connection broke; retry later. */
  | "unavailable"
  /** The schema is newer than this code, or a migration failed. */
  | "schema"
  /** The database's contents are not what the code expects. */
  | "corrupt";
