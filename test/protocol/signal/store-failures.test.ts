// A database error inside a libsignal call (a full disk while the prekey is read) is a database error, not an
// undecryptable message: the bridge gives up on an undecryptable message (and tells the user it is lost), but
// retries after a database error. The fault suite lost messages this way before; here the failure is injected.
import assert from "node:assert/strict";
import { SignalDeviceStore, decryptFrom, encryptTo, startSessionFromBundle, type DeviceAddress } from "../../../src/protocol/signal/index.js";
import { StoreError, type SqlDatabase, type SqlValue } from "../../../src/sql/sql.js";
import type { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import { KeyDirectory, newDevice, openDb, str, TempDir, text } from "./helpers.js";

const ALICE: DeviceAddress = { uri: "matrix:u/alice:example.org", deviceId: 1 };
const BOB: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 1 };

/** The engine, with reads of one table failing as a full disk would make them, while `failing` is set. */
function flaky(inner: SqliteEngine, table: string): SqlDatabase & { failing: boolean } {
  const check = (sql: string) => {
    if (wrapper.failing && sql.includes(table)) throw new StoreError("disk-full", "the database's disk is full");
  };
  const wrapper = {
    failing: false,
    engine: inner.engine,
    get inTransaction() {
      return inner.inTransaction;
    },
    run: async (sql: string, params?: readonly SqlValue[]) => (check(sql), inner.run(sql, params)),
    get: async <T>(sql: string, params?: readonly SqlValue[]) => (check(sql), inner.get<T>(sql, params)),
    all: async <T>(sql: string, params?: readonly SqlValue[]) => (check(sql), inner.all<T>(sql, params)),
    transaction: <T>(fn: () => Promise<T>) => inner.transaction(fn),
    exec: (sql: string) => inner.exec(sql),
    close: () => inner.close(),
  };
  return wrapper;
}

describe("Signal store failures inside libsignal", () => {
  let dir: TempDir;
  let aliceDb: SqliteEngine;
  let bobDb: SqliteEngine;

  beforeEach(() => {
    dir = new TempDir();
    aliceDb = openDb(dir.file("a.db"));
    bobDb = openDb(dir.file("b.db"));
  });
  afterEach(async () => {
    await aliceDb.close();
    await bobDb.close();
    dir.remove();
  });

  it("a full disk while decrypting comes out as the StoreError, and the message decrypts once the disk has room", async () => {
    const directory = new KeyDirectory();
    const alice = await newDevice(aliceDb, directory, ALICE.uri);
    await newDevice(bobDb, directory, BOB.uri);
    const bobFlakyDb = flaky(bobDb, "signal_prekeys");
    const bob = await SignalDeviceStore.open(bobFlakyDb, BOB);
    await alice.transact((uow) => startSessionFromBundle(uow, BOB, directory.bundle(BOB.uri, BOB.deviceId)));
    const wire = await alice.transact((uow) => encryptTo(uow, BOB, text("hello")));
    assert.equal(wire.type, "prekey", "the prekey is read inside libsignal's callback");

    bobFlakyDb.failing = true;
    await assert.rejects(
      bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext)),
      (err: unknown) => err instanceof StoreError && err.code === "disk-full",
    );
    bobFlakyDb.failing = false;
    const out = await bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext));
    assert.equal(str(out.plaintext), "hello");
  });
});
