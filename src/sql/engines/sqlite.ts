// The SQLite engine: one better-sqlite3 connection, statements prepared once and cached by their text.
//
// better-sqlite3 is synchronous, so a statement outside any transaction runs at once. A transaction spans awaits,
// though, and its statements share the one connection with everything else: while it is open, statements from other
// async contexts wait for it to finish instead of slipping into it.
import type Database from "better-sqlite3";
import { type RunResult, type SqlDatabase, type SqlValue, StoreError } from "../sql.js";
import { TxScopes } from "./scope.js";

type Statement = Database.Statement<unknown[], unknown>;

export class SqliteEngine implements SqlDatabase {
  readonly engine = "sqlite" as const;
  private readonly statements = new Map<string, Statement>();
  private readonly scopes = new TxScopes<Database.Database>();
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly handle: Database.Database) {}

  get inTransaction(): boolean {
    return this.scopes.current() !== undefined;
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.call(() => ({ changes: this.prepare(sql).run(...params).changes }));
  }

  get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.call(() => this.prepare(sql).get(...params) as T | undefined);
  }

  all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.call(() => this.prepare(sql).all(...params) as T[]);
  }

  exec(sql: string): Promise<void> {
    return this.call(() => {
      this.handle.exec(sql);
    });
  }

  afterTransaction(fn: () => void): void {
    this.scopes.afterTransaction(fn);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const scope = this.scopes.current();
    if (scope) return this.scopes.nested(scope, (s) => this.execNow(s), fn);
    await this.acquire();
    const outer = { conn: this.handle, savepoints: 0 };
    try {
      this.execNow("BEGIN");
      let result: T;
      try {
        result = await this.scopes.run(outer, fn);
      } catch (err) {
        if (this.handle.inTransaction) this.handle.exec("ROLLBACK");
        throw err;
      }
      this.execNow("COMMIT");
      return result;
    } finally {
      this.release();
      this.scopes.ended(outer);
    }
  }

  async close(): Promise<void> {
    await this.acquire();
    try {
      this.statements.clear();
      this.handle.close();
    } finally {
      this.release();
    }
  }

  /** Runs a statement now when this context may use the connection, else once the open transaction has ended. */
  private async call<T>(fn: () => T): Promise<T> {
    if (this.scopes.current() || !this.busy) return translate(fn);
    await this.acquire();
    try {
      return translate(fn);
    } finally {
      this.release();
    }
  }

  private execNow(sql: string): void {
    translate(() => this.handle.exec(sql));
  }

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.handle.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private acquire(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}

/** SQLite's result codes that a caller can act on, as typed store errors; everything else is rethrown as it is. */
function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const raw = (err as { code?: unknown }).code;
    const code = typeof raw === "string" ? raw : "";
    if (code.startsWith("SQLITE_FULL")) throw new StoreError("disk-full", "the database's disk is full", { cause: err });
    if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_CANTOPEN")) {
      throw new StoreError("unavailable", `the database is unavailable (${code})`, { cause: err });
    }
    if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
      throw new StoreError("corrupt", `the database file is damaged (${code})`, { cause: err });
    }
    throw err;
  }
}
