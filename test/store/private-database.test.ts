// The bridge database at rest: its files are the bridge user's alone, and delivered contents do not stay in it.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { openDatabase } from "../../src/store/database.js";
import type { SqliteEngine } from "../../src/sql/engines/sqlite.js";
import { StoreMaintenance } from "../../src/store/maintenance.js";
import { BridgeStore } from "../../src/store/store.js";

const modeOf = (path: string) => statSync(path).mode & 0o777;

function contains(path: string, marker: string): boolean {
  if (!existsSync(path)) return false;
  const bytes = readFileSync(path);
  return bytes.includes(Buffer.from(marker, "utf8"));
}

describe("store: the database at rest", () => {
  let dir: string;
  let oldUmask: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-private-db-"));
    // The loosest umask there is: the modes must not come from it.
    oldUmask = process.umask(0);
  });
  afterEach(async () => {
    process.umask(oldUmask);
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the database, its -wal and -shm 0600 and the directories it makes 0700, under umask 000", async () => {
    const path = join(dir, "a", "b", "bridge.db");
    const db = openDatabase(path);
    db.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      assert.ok(existsSync(file), `${file} exists`);
      assert.equal(modeOf(file).toString(8), "600", file);
    }
    assert.equal(modeOf(join(dir, "a")).toString(8), "700");
    assert.equal(modeOf(join(dir, "a", "b")).toString(8), "700");
    assert.equal(db.pragma("secure_delete", { simple: true }), 1);
    db.close();
  });

  it("refuses a database that group or others can read, naming the file and the fix", async () => {
    const path = join(dir, "bridge.db");
    openDatabase(path).close();
    for (const mode of [0o644, 0o640, 0o604]) {
      chmodSync(path, mode);
      assert.throws(
        () => openDatabase(path),
        (err: Error) => err.message === `the database ${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
      );
    }
    chmodSync(path, 0o600);
    openDatabase(path).close();
  });

  it("tightens a -wal left behind with a loose mode", async () => {
    const path = join(dir, "bridge.db");
    const first = openDatabase(path);
    first.prepare("INSERT INTO kv (key, value) VALUES ('k', 'v')").run();
    // A copy of the live WAL stands in for one a crash left behind after someone loosened it.
    const wal = readFileSync(`${path}-wal`);
    first.close();
    writeFileSync(`${path}-wal`, wal, { mode: 0o644 });
    chmodSync(`${path}-wal`, 0o644);
    const db = openDatabase(path);
    assert.equal(modeOf(`${path}-wal`).toString(8), "600");
    db.close();
  });

  it("leaves no trace of a delivered message in the database or its WAL after the next maintenance tick", async () => {
    const path = join(dir, "bridge.db");
    const store = await BridgeStore.open(path);
    const maintenance = new StoreMaintenance(store);
    await maintenance.tick();
    const marker = `secret-${Date.now()}-marker`;
    const seq = await store.outbox.add({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "AA", content: Buffer.from(`hello ${marker}`) });
    const inbox = { matrixUser: "@a:x", remoteUri: "tel:+1", senderDevice: 1, messageId: "BB", timestamp: 5, content: Buffer.from(`reply ${marker}`), identityChanged: false };
    await store.inbox.addOnce(inbox);
    // Force the rows into the main file too, as an automatic checkpoint would.
    (store.db as SqliteEngine).handle.pragma("wal_checkpoint(PASSIVE)");
    assert.ok(contains(path, marker), "the queued content is in the database while it waits");
    await store.outbox.remove(seq);
    await store.inbox.remove((await store.inbox.heads())[0]!.seq);
    // Deleted, but the WAL still has the page images that held it: this is what the maintenance tick is for.
    assert.ok(contains(`${path}-wal`, marker), "the WAL keeps the deleted content until it is truncated");
    assert.equal((await maintenance.tick()).walTruncated, true);
    assert.equal(statSync(`${path}-wal`).size, 0);
    assert.ok(!contains(path, marker), "secure_delete zeroed the rows in the main file");
    assert.ok(!contains(`${path}-wal`, marker));
    // Nothing written since: the next tick does no checkpoint.
    assert.equal((await maintenance.tick()).walTruncated, false);
    await store.close();
  });

  it("without secure_delete the deleted content would stay in the file (the check above can fail)", async () => {
    const path = join(dir, "plain.db");
    const db = new Database(path);
    db.exec("CREATE TABLE t (v BLOB)");
    const marker = `plain-${Date.now()}-marker`;
    db.prepare("INSERT INTO t (v) VALUES (?)").run(Buffer.from(marker));
    db.exec("DELETE FROM t");
    db.close();
    assert.ok(contains(path, marker));
  });
});
