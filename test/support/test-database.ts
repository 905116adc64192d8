// Which database engine the store tests run on: MDB_TEST_DATABASE=sqlite (the default) or postgres. Read here
// and nowhere else, so one variable moves the whole suite from one engine to the other.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { registerCleanup } from "../harness/cleanup.js";
import { createTestDatabase } from "../harness/postgres.js";
import { databaseTarget } from "../../src/app/run.js";
import type { BridgeConfig } from "../../src/config/schema.js";
import type { SqlDatabase } from "../../src/sql/sql.js";
import { openStoreDatabase } from "../../src/store/database.js";

export type TestDatabaseEngine = "sqlite" | "postgres";

const ENV = "MDB_TEST_DATABASE";

/** The engine this run tests; an unknown value is an error rather than a silent fallback to SQLite. */
export function testDatabaseEngine(): TestDatabaseEngine {
  const value = process.env[ENV] ?? "";
  if (value === "" || value === "sqlite") return "sqlite";
  if (value === "postgres" || value === "postgresql") return "postgres";
  throw new Error(`${ENV}=${value}: expected sqlite or postgres`);
}

let sqliteDir: string | undefined;
let sqliteCounter = 0;

/**
 * A fresh, empty database for one test (or suite) on this run's engine: a path to a SQLite file that does not
 * exist yet, in a directory removed after the run, or the postgres:// URL of a new database on the harness's
 * PostgreSQL (started on first use). A string starting with postgres:// is a URL; anything else is a path.
 */
export async function testDatabaseUrl(): Promise<string> {
  if (testDatabaseEngine() === "postgres") return createTestDatabase();
  if (sqliteDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "mdb-test-sqlite-"));
    sqliteDir = dir;
    registerCleanup(async () => {
      sqliteDir = undefined;
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return path.join(sqliteDir, `test-${++sqliteCounter}.sqlite`);
}


/** A PostgreSQL URL for a bridge under test when this run tests PostgreSQL; undefined for SQLite (the bridge's data directory holds its file). */
export async function bridgeDatabaseUrl(): Promise<string | undefined> {
  return testDatabaseEngine() === "postgres" ? createTestDatabase() : undefined;
}

/** Opens the database of a bridge under test, on whichever engine its config names, for `fn` to read; closes it after. */
export async function withBridgeDatabase<T>(config: BridgeConfig, fn: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = await openStoreDatabase(databaseTarget(config));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
