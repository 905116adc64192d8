// The PostgreSQL engine: a small pool of connections (node-postgres), statements prepared once per connection under
// a name derived from their text, placeholders rewritten from `?` to `$n` once per statement.
//
// A transaction holds one pooled connection from BEGIN to COMMIT; the statements of its async context go there.
import pg from "pg";
import { type RunResult, type SqlDatabase, type SqlValue, StoreError } from "../sql.js";
import { TxScopes, type TxScope } from "./scope.js";

export interface PostgresOptions {
  /** Connections in the pool; a transaction holds one for its duration. */
  maxConnections?: number;
}

// int8 (counts, sequence numbers, millisecond timestamps) as JS numbers: every value the schema holds is < 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8_OID && format !== "binary") return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

interface Prepared {
  name: string;
  text: string;
}

export class PostgresEngine implements SqlDatabase {
  readonly engine = "postgres" as const;
  private readonly prepared = new Map<string, Prepared>();
  private readonly scopes = new TxScopes<pg.PoolClient>();

  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresEngine> {
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 8, types });
    // An idle connection that breaks (server restart) is dropped by the pool; without a listener it would crash us.
    pool.on("error", () => undefined);
    const engine = new PostgresEngine(pool);
    await engine.get("SELECT 1 AS one");
    return engine;
  }

  get inTransaction(): boolean {
    return this.scopes.current() !== undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    const result = await this.query(sql, params);
    return { changes: result.rowCount ?? 0 };
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async exec(sql: string): Promise<void> {
    const scope = this.scopes.current();
    await translate(() => (scope ? scope.conn : this.pool).query(sql));
  }

  afterTransaction(fn: () => void): void {
    this.scopes.afterTransaction(fn);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const scope = this.scopes.current();
    if (scope) return this.scopes.nested(scope, async (s) => void (await scope.conn.query(s)), fn);
    const conn = await translate(() => this.pool.connect());
    let broken = false;
    const outer: TxScope<pg.PoolClient> = { conn, savepoints: 0 };
    try {
      await translate(() => conn.query("BEGIN"));
      let result: T;
      try {
        result = await this.scopes.run(outer, fn);
      } catch (err) {
        await conn.query("ROLLBACK").catch(() => (broken = true));
        throw err;
      }
      await translate(() => conn.query("COMMIT"));
      return result;
    } catch (err) {
      if (isConnectionError(err)) broken = true;
      throw err;
    } finally {
      conn.release(broken);
      this.scopes.ended(outer);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    const statement = this.statement(sql);
    const values = params.map(toPg);
    const scope = this.scopes.current();
    return translate(() => (scope ? scope.conn : this.pool).query({ name: statement.name, text: statement.text, values }));
  }

  private statement(sql: string): Prepared {
    let statement = this.prepared.get(sql);
    if (!statement) {
      statement = { name: `mdb_${this.prepared.size + 1}`, text: numberPlaceholders(sql) };
      this.prepared.set(sql, statement);
    }
    return statement;
  }
}

/** `?` → `$1, $2, …`, skipping quoted strings and identifiers. */
export function numberPlaceholders(sql: string): string {
  let out = "";
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === "?") {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}

function toPg(value: SqlValue): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "bigint") return value.toString();
  return value;
}

function isConnectionError(err: unknown): boolean {
  return err instanceof StoreError && err.code === "unavailable";
}

async function translate<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === "53100") throw new StoreError("disk-full", "the database's disk is full", { cause: err });
    if (
      typeof code === "string" &&
      (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03" || code === "ECONNREFUSED" || code === "ECONNRESET")
    ) {
      throw new StoreError("unavailable", `the database is unavailable (${code})`, { cause: err });
    }
    if (err instanceof Error && /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(err.message)) {
      throw new StoreError("unavailable", "the database connection broke", { cause: err });
    }
    throw err;
  }
}
