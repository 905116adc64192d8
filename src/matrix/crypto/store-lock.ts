// One process per crypto store folder. Two processes on the same store would both advance the same Megolm and Olm
// ratchets from the same state, which forks them silently: messages become undecryptable for the other side.
// The lock is an exclusive SQLite lock (an OS file lock), so it vanishes with the process, also after SIGKILL.
import Database from "better-sqlite3";
import { join } from "node:path";
import { createPrivateFile, ensurePrivateDir } from "../../util/private-files.js";

export class StoreLockedError extends Error {
  constructor(folder: string, holder: string) {
    super(`the Matrix crypto store ${folder} is in use by another bridge process (${holder}); only one process may use it at a time`);
    this.name = "StoreLockedError";
  }
}

export class StoreLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock for `folder` or throws StoreLockedError. */
  static acquire(folder: string): StoreLock {
    ensurePrivateDir(folder);
    const path = join(folder, "bridge.lock");
    // It holds only a PID, but like every file in the folder it is the bridge's alone.
    createPrivateFile(path);
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma("journal_mode = DELETE");
      db.pragma("locking_mode = EXCLUSIVE");
      db.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)");
      // The first write takes the exclusive lock, and locking_mode=EXCLUSIVE keeps it until the connection closes.
      db.exec("BEGIN EXCLUSIVE");
      db.exec("DELETE FROM holder");
      db.prepare("INSERT INTO holder (pid, since) VALUES (?, ?)").run(process.pid, new Date().toISOString());
      db.exec("COMMIT");
    } catch (err) {
      const busy = (err as { code?: string }).code === "SQLITE_BUSY" || (err as { code?: string }).code === "SQLITE_LOCKED";
      db.close();
      if (busy) throw new StoreLockedError(folder, "it holds the lock file bridge.lock");
      throw err;
    }
    return new StoreLock(db);
  }

  release(): void {
    if (this.db.open) this.db.close();
  }
}
