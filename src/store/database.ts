// Opens the bridge's database (SQLite file or PostgreSQL server) and brings its schema up to date.
//
// The database holds the Signal identity keys and ratchet state of every user and, while they are queued, message
// contents. So a SQLite file is created 0600 before SQLite sees it (SQLite gives its -wal and -shm files the main
// file's mode), an existing one that others can read is refused, and deleted rows are overwritten (secure_delete)
// instead of left in free space. A PostgreSQL server is the admin's to secure (docs/security.md).
import Database from "better-sqlite3";
import { dirname } from "node:path";
import { assertPrivateFile, createPrivateFile, ensurePrivateDir, tightenIfPresent } from "../util/private-files.js";
import { MIGRATIONS, type Migration, postgresSql } from "./migrations.js";
import { PostgresEngine, type PostgresOptions } from "../sql/engines/postgres.js";
import { SqliteEngine } from "../sql/engines/sqlite.js";
import { type SqlDatabase, StoreError } from "../sql/sql.js";

export type SqliteDb = Database.Database;

/** Where the bridge keeps its state: a SQLite file (or ":memory:") or a PostgreSQL URL. */
export type DatabaseTarget = { path: string } | ({ url: string } & PostgresOptions);

export async function openStoreDatabase(target: DatabaseTarget, migrations: readonly Migration[] = MIGRATIONS): Promise<SqlDatabase> {
  if ("url" in target) return openPostgres(target.url, migrations, target);
  return openSqlite(target.path, migrations);
}

export function openSqlite(path: string, migrations: readonly Migration[] = MIGRATIONS): SqliteEngine {
  return new SqliteEngine(openDatabase(path, migrations));
}

export async function openPostgres(url: string, migrations: readonly Migration[] = MIGRATIONS, options: PostgresOptions = {}): Promise<PostgresEngine> {
  const db = await PostgresEngine.open(url, options);
  try {
    await migratePostgres(db, migrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** The raw SQLite handle with the schema applied (the gatekeeper and SQLite-only tools use it directly). */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): SqliteDb {
  const onDisk = path !== ":memory:";
  if (onDisk) {
    ensurePrivateDir(dirname(path));
    if (!createPrivateFile(path)) assertPrivateFile(path, "the database");
  }
  const db = new Database(path);
  try {
    // Before anything is written: pages freed from now on are zeroed, in the main file and in the WAL.
    db.pragma("secure_delete = ON");
    db.pragma("journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    migrate(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  // SQLite only sets the mode of a -wal/-shm it creates empty; ones left by a crash keep whatever they had.
  if (onDisk) for (const suffix of ["-wal", "-shm"]) tightenIfPresent(`${path}${suffix}`);
  return db;
}

/**
 * Copies the WAL into the database and truncates it to zero bytes. Until then the WAL keeps old page images, among
 * them rows already deleted (a message that was queued and then delivered). Returns false when a reader or an open
 * transaction kept the checkpoint from finishing; the next call tries again.
 */
export function truncateWal(db: SqliteDb): boolean {
  if (db.inTransaction) return false;
  const [result] = db.pragma("wal_checkpoint(TRUNCATE)") as { busy: number; log: number; checkpointed: number }[];
  return result !== undefined && result.busy === 0;
}

/** Applies numbered migrations in order, each in its own transaction; refuses a database newer than the code. */
export function migrate(db: SqliteDb, migrations: readonly Migration[]): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  checkNotNewer(current, migrations);
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

// Any constant works; it only has to be the same for every instance of the bridge migrating this database.
const MIGRATION_LOCK = 0x6d6462;

/** The same migrations on PostgreSQL; the version lives in a table, and a lock keeps two instances from racing. */
async function migratePostgres(db: SqlDatabase, migrations: readonly Migration[]): Promise<void> {
  await db.transaction(async () => {
    await db.get("SELECT pg_advisory_xact_lock(?) AS locked", [MIGRATION_LOCK]);
    await db.exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
    const row = await db.get<{ version: number }>("SELECT max(version) AS version FROM schema_version");
    const current = row?.version ?? 0;
    checkNotNewer(current, migrations);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await db.exec(postgresSql(m));
      await db.run("INSERT INTO schema_version (version) VALUES (?)", [m.version]);
    }
  });
}

function checkNotNewer(current: number, migrations: readonly Migration[]): void {
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  if (current > latest) {
    throw new StoreError("schema", `database schema version ${current} is newer than this bridge knows (${latest}); refusing to run an older bridge on it`);
  }
}
