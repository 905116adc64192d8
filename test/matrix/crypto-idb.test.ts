// The bridge's IndexedDB for the crypto engine (src/matrix/crypto/idb/), on its own: what a committed transaction
// writes (all of it, in one record-store commit, durable before `complete`), what an aborted or failed one leaves
// (nothing), key order, cursors and indexes as the engine's store uses them, upgrades, and memory released on close.
// Where IndexedDB itself defines the answer, a well-kept independent implementation (fake-indexeddb) is the oracle.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IDBFactory as FakeFactory, IDBKeyRange as FakeKeyRange } from "fake-indexeddb";
import { IDBFactory, IDBKeyRange } from "../../src/matrix/crypto/idb/globals.js";
import { decodeKey, encodeKey } from "../../src/matrix/crypto/idb/key-codec.js";
import type { CryptoRecordStore, RecordChange } from "../../src/matrix/crypto/record-store.js";
import { openSqlite } from "../../src/store/database.js";
import { CryptoRecordTable } from "../../src/store/crypto-records.js";
import { MemoryCryptoRecords } from "../support/memory-crypto-records.js";

/** A seeded generator whose state can be saved and restored, so both implementations get the same choices. */
class Prng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  int(n: number): number {
    return this.next() % n;
  }
  state(): number {
    return this.a;
  }
  setState(a: number): void {
    this.a = a;
  }
}

// The two implementations are used through the same untyped surface (as the wasm uses IndexedDB).
/* eslint-disable @typescript-eslint/no-explicit-any */
type Any = any;

function req<T = Any>(r: Any): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result as T);
    r.onerror = (ev: Any) => {
      ev.preventDefault?.();
      reject(r.error);
    };
  });
}

function done(tx: Any): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error("aborted"));
  });
}

/** Opens `name` at `version`, running `upgrade(db, tx, oldVersion)` when it has to. */
function open(factory: Any, name: string, version: number, upgrade?: (db: Any, tx: Any, oldVersion: number) => void): Promise<Any> {
  return new Promise((resolve, reject) => {
    const r = factory.open(name, version);
    r.onupgradeneeded = (ev: Any) => upgrade?.(r.result, r.transaction, ev.oldVersion);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

const schemaV1 = (db: Any) => {
  const s = db.createObjectStore("things");
  s.createIndex("by_owner", "owner");
  s.createIndex("by_pair", ["owner", "n"], { unique: true });
  db.createObjectStore("plain");
};

describe("crypto IndexedDB (the bridge's own)", function () {
  this.timeout(20_000);
  let records: MemoryCryptoRecords;
  let factory: IDBFactory;
  beforeEach(() => {
    records = new MemoryCryptoRecords();
    factory = new IDBFactory();
    factory.attach(records);
  });

  describe("keys", () => {
    it("orders encoded keys as IndexedDB orders keys, and decodes them back", () => {
      const fake = new FakeFactory();
      const rnd = new Prng(7);
      const atom = (): Any => {
        switch (rnd.int(5)) {
          case 0:
            return [0, -0, 1, -1, 0.5, -1e300, 1e300, Infinity, -Infinity, 2 ** 53][rnd.int(10)];
          case 1:
            return new Date([0, 1, -1, 1e12][rnd.int(4)]!);
          case 2:
            return ["", "a", "ab", "b", "\u0000", "a\u0000", "\u00ff", "\u0100", "\uffff", "\ud83d\ude00", "Z"][rnd.int(11)];
          case 3:
            return new Uint8Array([[], [0], [0, 0], [1], [255], [0, 255]][rnd.int(6)]!).buffer;
          default:
            return Array.from({ length: rnd.int(3) }, () => (rnd.int(3) === 0 ? [] : atom()));
        }
      };
      const keys = Array.from({ length: 300 }, atom);
      for (const a of keys) {
        assert.ok(encodeKey(decodeKey(encodeKey(a))).equals(encodeKey(a)), "round trip");
        for (const b of keys.slice(0, 60)) {
          const ours = Math.sign(Buffer.compare(encodeKey(a), encodeKey(b)));
          assert.equal(ours, fake.cmp(a, b), `order of ${JSON.stringify(a)} and ${JSON.stringify(b)}`);
        }
      }
    });

    it("refuses what is not a key", () => {
      for (const bad of [null, undefined, NaN, {}, true, new Date(NaN), [1, {}], (() => { const a: Any[] = []; a.push(a); return a; })()]) {
        assert.throws(() => encodeKey(bad), (e: Any) => e.name === "DataError");
      }
    });
  });

  describe("transactions", () => {
    it("commits every write of a transaction in one record-store commit, and a new connection reads it back", async () => {
      const db = await open(factory, "t1", 1, schemaV1);
      const before = records.commits;
      const tx = db.transaction(["things", "plain"], "readwrite");
      const things = tx.objectStore("things");
      for (let i = 0; i < 5; i++) things.put({ owner: "o", n: i, body: new Uint8Array([i]) }, `k${i}`);
      tx.objectStore("plain").put("x", 1);
      things.delete("k0");
      await done(tx);
      assert.equal(records.commits, before + 1, "one commit for the whole transaction");
      db.close();
      assert.equal(factory.loadedCount, 0, "closed and idle: the database left memory");
      const again = await open(factory, "t1", 1);
      const rtx = again.transaction("things");
      assert.deepEqual(await req(rtx.objectStore("things").getAllKeys()), ["k1", "k2", "k3", "k4"]);
      assert.deepEqual(await req(rtx.objectStore("things").get("k2")), { owner: "o", n: 2, body: new Uint8Array([2]) });
      again.close();
    });

    it("fires complete only once the record store has the commit", async () => {
      const db = await open(factory, "t2", 1, schemaV1);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const commit = records.commit.bind(records);
      let committed = false;
      records.commit = async (name, change) => {
        await gate;
        await commit(name, change);
        committed = true;
      };
      const tx = db.transaction("plain", "readwrite");
      tx.objectStore("plain").put("v", "k");
      let completed = false;
      const finished = done(tx).then(() => (completed = true));
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(completed, false, "not complete while the commit is pending");
      release();
      await finished;
      assert.equal(committed, true);
      db.close();
    });

    it("abort() undoes every change; the requests fail with AbortError and nothing is committed", async () => {
      const db = await open(factory, "t3", 1, schemaV1);
      const seed = db.transaction("things", "readwrite");
      seed.objectStore("things").put({ owner: "a", n: 1 }, "keep");
      await done(seed);
      const before = records.commits;
      const tx = db.transaction("things", "readwrite");
      const s = tx.objectStore("things");
      await req(s.put({ owner: "b", n: 2 }, "new"));
      await req(s.delete("keep"));
      const late = s.put({ owner: "c", n: 3 }, "late");
      const lateResult = req(late).then(() => "ok", (e) => e.name);
      tx.abort();
      await assert.rejects(done(tx));
      assert.equal(await lateResult, "AbortError");
      assert.equal(records.commits, before, "nothing reached the record store");
      const check = db.transaction("things");
      assert.deepEqual(await req(check.objectStore("things").getAllKeys()), ["keep"], "memory is as before the transaction");
      assert.deepEqual(await req(check.objectStore("things").index("by_owner").getAllKeys("b")), [], "the index too");
      db.close();
    });

    it("an unhandled request error aborts the whole transaction; a handled one does not", async () => {
      const db = await open(factory, "t4", 1, schemaV1);
      const seed = db.transaction("plain", "readwrite");
      seed.objectStore("plain").put(1, "a");
      await done(seed);
      const tx = db.transaction("plain", "readwrite");
      tx.objectStore("plain").put(2, "b");
      tx.objectStore("plain").add(3, "a"); // exists: ConstraintError, not handled
      await assert.rejects(done(tx), (e: Any) => e.name === "ConstraintError");
      const check = db.transaction("plain", "readwrite");
      assert.deepEqual(await req(check.objectStore("plain").getAllKeys()), ["a"], "the earlier put was undone");
      const handled = check.objectStore("plain").add(4, "a");
      await req(handled).catch(() => undefined); // req() calls preventDefault
      check.objectStore("plain").put(5, "c");
      await done(check);
      const last = db.transaction("plain");
      assert.deepEqual(await req(last.objectStore("plain").getAll()), [1, 5]);
      db.close();
    });

    it("a failed commit aborts the transaction and undoes it in memory; the next one works", async () => {
      const db = await open(factory, "t5", 1, schemaV1);
      let reported: unknown;
      factory.attach(records, { commitFailed: (_n, err) => (reported = err) });
      records.failNextCommit = new Error("disk full");
      const tx = db.transaction("plain", "readwrite");
      tx.objectStore("plain").put("lost", "k");
      await assert.rejects(done(tx), (e: Any) => e.name === "UnknownError" && /disk full/.test(e.message));
      assert.match(String(reported), /disk full/);
      const next = db.transaction("plain", "readwrite");
      assert.equal(await req(next.objectStore("plain").get("k")), undefined);
      next.objectStore("plain").put("kept", "k2");
      await done(next);
      assert.deepEqual([...records.dbs.get("t5")!.records.values()].length, 1);
      db.close();
    });

    it("runs a follow-up request placed several promise hops after a result in the same transaction", async () => {
      const db = await open(factory, "t6", 1, schemaV1);
      const tx = db.transaction("plain", "readwrite");
      const s = tx.objectStore("plain");
      await req(s.put(1, "a"));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      await req(s.put(2, "b"));
      await done(tx);
      db.close();
      assert.equal(records.commits >= 2, true);
      assert.equal(records.dbs.get("t6")!.records.size, 2);
    });

    it("refuses requests after the transaction committed, and writes in a read-only one", async () => {
      const db = await open(factory, "t7", 1, schemaV1);
      const tx = db.transaction("plain");
      assert.throws(() => tx.objectStore("plain").put(1, "a"), (e: Any) => e.name === "ReadOnlyError");
      await done(tx);
      assert.throws(() => tx.objectStore("plain").get("a"), (e: Any) => e.name === "TransactionInactiveError" || e.name === "InvalidStateError");
      db.close();
    });
  });

  describe("upgrades", () => {
    it("persists schema and version; a lower version is a VersionError; an aborted first upgrade leaves no database", async () => {
      const db = await open(factory, "u1", 3, (d, _tx, old) => {
        assert.equal(old, 0);
        schemaV1(d);
      });
      assert.equal(db.version, 3);
      db.close();
      assert.deepEqual(records.dbs.get("u1")!.schema.version, 3);
      await assert.rejects(open(factory, "u1", 2), (e: Any) => e.name === "VersionError");
      const up = await open(factory, "u1", 4, (d, tx, old) => {
        assert.equal(old, 3);
        tx.objectStore("things").deleteIndex("by_owner");
        d.deleteObjectStore("plain");
        d.createObjectStore("more");
      });
      assert.deepEqual([...up.objectStoreNames], ["more", "things"]);
      up.close();
      const stored = records.dbs.get("u1")!.schema;
      assert.deepEqual(stored.stores.map((s) => [s.name, s.indexes.map((i) => i.name)]), [["things", ["by_pair"]], ["more", []]]);

      await assert.rejects(
        open(factory, "u2", 1, (d, tx) => {
          d.createObjectStore("x");
          tx.abort();
        }),
      );
      assert.equal(records.dbs.has("u2"), false);
      const fresh = await open(factory, "u2", 1, (d) => d.createObjectStore("y"));
      assert.deepEqual([...fresh.objectStoreNames], ["y"]);
      fresh.close();
    });

    it("an upgrade can move data (read, write, delete) in the same transaction, atomically", async () => {
      const db = await open(factory, "u3", 1, (d) => d.createObjectStore("old"));
      const tx = db.transaction("old", "readwrite");
      for (let i = 0; i < 3; i++) tx.objectStore("old").put({ v: i }, i);
      await done(tx);
      db.close();
      const up = await open(factory, "u3", 2, (d, utx) => {
        const to = d.createObjectStore("new");
        to.createIndex("by_v", "v");
        const c = utx.objectStore("old").openCursor();
        c.onsuccess = () => {
          const cursor = c.result;
          if (!cursor) return d.deleteObjectStore("old");
          to.put({ v: cursor.value.v * 10 }, `n${cursor.key}`);
          cursor.continue();
        };
      });
      const r = up.transaction("new");
      assert.deepEqual(await req(r.objectStore("new").index("by_v").getAllKeys()), ["n0", "n1", "n2"]);
      up.close();
      const reopened = await open(factory, "u3", 2);
      assert.deepEqual([...reopened.objectStoreNames], ["new"]);
      assert.deepEqual(await req(reopened.transaction("new").objectStore("new").getAll()), [{ v: 0 }, { v: 10 }, { v: 20 }]);
      reopened.close();
    });
  });

  describe("same answers as fake-indexeddb", () => {
    // A random workload of what the crypto store does: puts, adds, deletes (keys and ranges), gets, getAll with
    // ranges and counts, counts, cursors that update and delete as they go, index reads. Both implementations must
    // give the same results and end in the same state.
    for (const seed of [1, 2, 3, 4]) {
      it(`random workload, seed ${seed}`, async () => {
        const rnd = new Prng(seed);
        const fake = new FakeFactory();
        const ours = await open(factory, `w${seed}`, 1, schemaV1);
        const theirs = await open(fake, `w${seed}`, 1, schemaV1);
        const key = () => [`k${rnd.int(12)}`, rnd.int(12), [`a${rnd.int(3)}`, rnd.int(3)]][rnd.int(3)];
        const range = (KR: Any) => {
          const [a, b] = [key(), key()];
          const lo = encodeKey(a).compare(encodeKey(b)) <= 0 ? a : b;
          const hi = lo === a ? b : a;
          switch (rnd.int(5)) {
            case 0:
              return KR.lowerBound(lo, rnd.int(2) === 0);
            case 1:
              return KR.upperBound(hi, rnd.int(2) === 0);
            case 2:
              return encodeKey(lo).equals(encodeKey(hi)) ? KR.only(lo) : KR.bound(lo, hi, rnd.int(2) === 0, rnd.int(2) === 0);
            case 3:
              return KR.only(lo);
            default:
              return undefined;
          }
        };
        const value = () => ({ owner: `o${rnd.int(3)}`, n: rnd.int(20), data: new Uint8Array([rnd.int(256)]) });
        for (let round = 0; round < 40; round++) {
          const ops = Array.from({ length: 1 + rnd.int(8) }, () => rnd.int(10));
          const args = ops.map(() => ({ k: key(), v: value(), r: rnd.next(), count: rnd.int(4) }));
          const run = async (db: Any, KR: Any) => {
            const tx = db.transaction(["things"], "readwrite");
            const finished = done(tx).then(
              () => "committed",
              (e) => `aborted ${e.name}`,
            );
            const s = tx.objectStore("things");
            const out: unknown[] = [];
            const saved = rnd.state();
            for (let i = 0; i < ops.length; i++) {
              const a = args[i]!;
              rnd.setState(a.r);
              // Placing a request may throw at once (the transaction was aborted by an earlier unhandled error).
              const attempt = async (place: () => Any) => {
                try {
                  out.push(await req(place()));
                } catch (e) {
                  out.push(`error ${(e as Any).name}`);
                }
              };
              switch (ops[i]) {
                case 0:
                case 1:
                  await attempt(() => s.put(a.v, a.k));
                  break;
                case 2:
                  await attempt(() => s.add(a.v, a.k));
                  break;
                case 3:
                  await attempt(() => s.delete(range(KR) ?? a.k));
                  break;
                case 4:
                  await attempt(() => s.get(a.k));
                  break;
                case 5:
                  await attempt(() => s.getAll(range(KR), a.count));
                  break;
                case 6:
                  await attempt(() => s.count(range(KR)));
                  break;
                case 7:
                  await attempt(() => s.index(rnd.int(2) ? "by_owner" : "by_pair").getAllKeys(rnd.int(2) ? `o${rnd.int(3)}` : undefined));
                  break;
                case 8: {
                  // A cursor that rewrites some records and deletes others as it walks.
                  const seen: unknown[] = [];
                  await new Promise<void>((resolve) => {
                    let c: Any;
                    try {
                      c = s.openCursor(range(KR));
                    } catch (e) {
                      seen.push(`error ${(e as Any).name}`);
                      return resolve();
                    }
                    c.onsuccess = () => {
                      const cursor = c.result;
                      if (!cursor) return resolve();
                      seen.push([cursor.key, cursor.value.n]);
                      if (cursor.value.n % 3 === 0) cursor.delete();
                      else if (cursor.value.n % 3 === 1) cursor.update({ ...cursor.value, n: cursor.value.n + 1 });
                      cursor.continue();
                    };
                    c.onerror = (ev: Any) => {
                      ev.preventDefault();
                      seen.push(`error ${c.error.name}`);
                      resolve();
                    };
                  });
                  out.push(seen);
                  break;
                }
                default: {
                  const seen: unknown[] = [];
                  await new Promise<void>((resolve) => {
                    let c: Any;
                    try {
                      c = s.index("by_owner").openCursor(rnd.int(2) ? KR.bound("o0", "o1") : undefined);
                    } catch (e) {
                      seen.push(`error ${(e as Any).name}`);
                      return resolve();
                    }
                    c.onerror = (ev: Any) => {
                      ev.preventDefault();
                      seen.push(`error ${c.error.name}`);
                      resolve();
                    };
                    c.onsuccess = () => {
                      const cursor = c.result;
                      if (!cursor) return resolve();
                      seen.push([cursor.key, cursor.primaryKey, cursor.value.n]);
                      cursor.continue();
                    };
                  });
                  out.push(seen);
                }
              }
            }
            rnd.setState(saved);
            return { out, outcome: await finished };
          };
          const state = rnd.state();
          const a = await run(ours, IDBKeyRange);
          rnd.setState(state);
          const b = await run(theirs, FakeKeyRange);
          assert.deepEqual(a, b, `round ${round}`);
        }
        const dump = async (db: Any) => {
          const tx = db.transaction("things");
          return [await req(tx.objectStore("things").getAllKeys()), await req(tx.objectStore("things").getAll()), await req(tx.objectStore("things").index("by_pair").getAllKeys())];
        };
        const final = await dump(ours);
        assert.deepEqual(final, await dump(theirs));
        ours.close();
        // What was committed is what a fresh load sees.
        const reloaded = await open(factory, `w${seed}`, 1);
        assert.deepEqual(await dump(reloaded), final);
        reloaded.close();
        theirs.close();
      });
    }
  });

  describe("over the bridge database", () => {
    it("stores and reloads through SQLite, and a commit that fails half-way leaves nothing", async () => {
      const sqlite = openSqlite(join(mkdtempSync(join(tmpdir(), "mdb-idb-")), "bridge.db"));
      const table: CryptoRecordStore = new CryptoRecordTable(sqlite);
      const f = new IDBFactory();
      f.attach(table);
      const db = await open(f, "s1", 1, schemaV1);
      const tx = db.transaction("things", "readwrite");
      tx.objectStore("things").put({ owner: "o", n: 1 }, ["x", 1]);
      tx.objectStore("things").put({ owner: "o", n: 2 }, "y");
      await done(tx);
      db.close();
      const bad: RecordChange = {
        cleared: [],
        writes: [
          { store: "things", key: encodeKey("z"), value: new Uint8Array([1]) },
          { store: "things", key: encodeKey("w"), value: {} as Uint8Array }, // not bindable: the statement throws
        ],
      };
      await assert.rejects(table.commit("s1", bad));
      const loaded = await table.load("s1");
      assert.equal(loaded!.records.length, 2, "the first write of the failed commit was rolled back");
      const again = await open(f, "s1", 1);
      assert.deepEqual(await req(again.transaction("things").objectStore("things").getAllKeys()), ["y", ["x", 1]]);
      again.close();
      assert.deepEqual(await table.names(), ["s1"]);
      await sqlite.close();
    });
  });
});
