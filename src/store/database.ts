// Opens the bridge's SQLite database and brings its schema up to date.
//
// The database holds the Signal identity keys and ratchet state of every user and, while they are queued, message
// contents. So it is created 0600 before SQLite sees it (SQLite gives its -wal and -shm files the main file's mode),
// an existing one that others can read is refused, and deleted rows are overwritten (secure_delete) instead of left in
// free space.
import Database from "better-sqlite3";
import { dirname } from "node:path";
import { assertPrivateFile, createPrivateFile, ensurePrivateDir, tightenIfPresent } from "../util/private-files.js";
import { MIGRATIONS, type Migration } from "./migrations.js";

export type SqliteDb = Database.Database;

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
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  if (current > latest) {
    throw new Error(`database schema version ${current} is newer than this bridge knows (${latest}); refusing to run an older bridge on it`);
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}
