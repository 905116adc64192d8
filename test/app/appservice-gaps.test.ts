// The appservice intake waits out a transaction the homeserver skipped (Synapse, right after it recovers an
// appservice), so that no event is left behind and events keep their order per room.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { AppserviceGapGuard } from "../../src/app/appservice-gaps.js";
import type { AppserviceTransaction } from "../../src/matrix/transaction.js";
import { BridgeStore } from "../../src/store/store.js";

function txn(...eventIds: string[]): AppserviceTransaction {
  return {
    events: eventIds.map((id) => ({ type: "m.room.message", room_id: "!r:x", sender: "@a:x", event_id: id, content: { body: id } })),
    ephemeral: [],
    toDevice: [],
    deviceLists: { changed: [], left: [] },
    oneTimeKeyCounts: {},
    unusedFallbackKeyTypes: {},
    rejected: [],
  } as unknown as AppserviceTransaction;
}

describe("appservice intake: transactions the homeserver skipped", () => {
  let dir: string;
  let store: BridgeStore;
  let pings: number;
  let queuedSignals: number;
  const guards: AppserviceGapGuard[] = [];
  const guard = (holdMs = 10_000) => {
    const g = new AppserviceGapGuard({ store, onQueued: () => void queuedSignals++, ping: async () => void pings++, log: pino({ level: "silent" }), holdMs, pingEveryMs: 20 });
    guards.push(g);
    g.start();
    return g;
  };
  const queuedOrder = () => {
    const out: string[] = [];
    for (let head = store.appservice.heads()[0]; head; head = store.appservice.heads()[0]) {
      out.push((head.payload as { event_id: string }).event_id);
      store.appservice.done(head.seq);
    }
    return out;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mdb-gaps-"));
    store = BridgeStore.open(join(dir, "bridge.db"));
    pings = 0;
    queuedSignals = 0;
  });
  afterEach(() => {
    for (const g of guards.splice(0)) g.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds what comes after a gap, pings the homeserver, and queues in number order once the gap is filled", async () => {
    const g = guard();
    await g.accept("141", txn("$a"));
    await g.accept("142", txn("$b"));
    await g.accept("144", txn("$d"));
    await g.accept("145", txn("$e"));
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(pings >= 1, "the homeserver was asked to resend");
    assert.equal(store.appservice.held().length, 2);
    await g.accept("143", txn("$c"));
    assert.deepEqual(queuedOrder(), ["$a", "$b", "$c", "$d", "$e"]);
    assert.equal(store.appservice.held().length, 0);
    const before = pings;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(pings, before, "no more pings once the gap is closed");
  });

  it("queues what is held after the hold time when the skipped transaction never comes", async () => {
    const g = guard(100);
    await g.accept("1", txn("$a"));
    await g.accept("3", txn("$c"));
    assert.deepEqual(queuedOrder(), ["$a"]);
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(queuedOrder(), ["$c"]);
    await g.accept("4", txn("$d"));
    assert.deepEqual(queuedOrder(), ["$d"], "the next one after the gap was given up on flows at once");
    assert.ok(queuedSignals >= 3);
  });

  it("keeps held transactions across a restart of the bridge", async () => {
    const first = guard();
    await first.accept("1", txn("$a"));
    await first.accept("3", txn("$c"));
    first.stop();
    const second = guard();
    await second.accept("2", txn("$b"));
    assert.deepEqual(queuedOrder(), ["$a", "$b", "$c"]);
  });

  it("follows a jump too wide for a skip instead of waiting (an old transaction came first to a new database)", async () => {
    const g = guard();
    await g.accept("168", txn("$old"));
    await g.accept("479", txn("$now"));
    await g.accept("480", txn("$next"));
    assert.deepEqual(queuedOrder(), ["$old", "$now", "$next"]);
    assert.equal(store.appservice.held().length, 0);
  });

  it("queues resends, lower numbers (a homeserver counting again) and non-numeric IDs at once", async () => {
    const g = guard();
    await g.accept("50", txn("$a"));
    await g.accept("50", txn("$a"));
    await g.accept("7", txn("$restart"));
    await g.accept("txn-abc", txn("$opaque"));
    await g.accept("51", txn("$b"));
    assert.deepEqual(queuedOrder(), ["$a", "$restart", "$opaque", "$b"]);
    assert.equal(pings, 0);
  });
});
