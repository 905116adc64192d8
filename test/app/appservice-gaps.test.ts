// The appservice intake waits out a transaction the homeserver skipped (Synapse, right after it recovers an
// appservice): it refuses the later ones, so that the homeserver's recoverer sends them again after the skipped one,
// and no event is left behind or put out of order.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { AppserviceGapGuard, TransactionGapError } from "../../src/app/appservice-gaps.js";
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
  let queuedSignals: number;
  const guard = (waitMs = 10_000) => new AppserviceGapGuard({ store, onQueued: () => void queuedSignals++, log: pino({ level: "silent" }), waitMs });
  const queuedOrder = async () => {
    const out: string[] = [];
    for (let head = (await store.appservice.heads())[0]; head; head = (await store.appservice.heads())[0]) {
      out.push((head.payload as { event_id: string }).event_id);
      await store.appservice.done(head.seq);
    }
    return out;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-gaps-"));
    store = await BridgeStore.open(join(dir, "bridge.db"));
    queuedSignals = 0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses what comes after a gap, so the homeserver resends it after the skipped one, in number order", async () => {
    const g = guard();
    await g.accept("141", txn("$a"));
    await g.accept("142", txn("$b"));
    await assert.rejects(g.accept("144", txn("$d")), TransactionGapError);
    await assert.rejects(g.accept("144", txn("$d")), TransactionGapError, "still refused while the gap is open");
    assert.deepEqual(await queuedOrder(), ["$a", "$b"], "nothing of the refused transaction was queued");
    // The homeserver's recoverer: the oldest unsent transaction first.
    await g.accept("143", txn("$c"));
    await g.accept("144", txn("$d"));
    await g.accept("145", txn("$e"));
    assert.deepEqual(await queuedOrder(), ["$c", "$d", "$e"]);
  });

  it("takes the later ones after the wait when the skipped transaction never comes, and still the late one", async () => {
    const g = guard(100);
    await g.accept("1", txn("$a"));
    await assert.rejects(g.accept("3", txn("$c")), TransactionGapError);
    await new Promise((r) => setTimeout(r, 150));
    await g.accept("3", txn("$c"));
    await g.accept("4", txn("$d"));
    await g.accept("2", txn("$late"));
    assert.deepEqual(await queuedOrder(), ["$a", "$c", "$d", "$late"]);
    assert.ok(queuedSignals >= 4);
  });

  it("remembers the expected number across a restart of the bridge", async () => {
    await guard().accept("1", txn("$a"));
    const second = guard();
    await assert.rejects(second.accept("3", txn("$c")), TransactionGapError);
    await second.accept("2", txn("$b"));
    await second.accept("3", txn("$c"));
    assert.deepEqual(await queuedOrder(), ["$a", "$b", "$c"]);
  });

  it("follows a jump too wide for a skip instead of waiting (an old transaction came first to a new database)", async () => {
    const g = guard();
    await g.accept("168", txn("$old"));
    await g.accept("479", txn("$now"));
    await g.accept("480", txn("$next"));
    assert.deepEqual(await queuedOrder(), ["$old", "$now", "$next"]);
  });

  it("queues resends, lower numbers (a homeserver counting again) and non-numeric IDs at once", async () => {
    const g = guard();
    await g.accept("50", txn("$a"));
    await g.accept("50", txn("$a"));
    await g.accept("7", txn("$restart"));
    await g.accept("txn-abc", txn("$opaque"));
    await g.accept("51", txn("$b"));
    assert.deepEqual(await queuedOrder(), ["$a", "$restart", "$opaque", "$b"]);
  });

  it("says when a transaction comes again, before it is queued (the homeserver missed our answer, or restarted)", async () => {
    const told: { txnId: string; queuedBefore: number }[] = [];
    const g = new AppserviceGapGuard({
      store,
      onQueued: () => void queuedSignals++,
      onResend: async (txnId) => void told.push({ txnId, queuedBefore: await store.appservice.pending() }),
      log: pino({ level: "silent" }),
    });
    await g.accept("7", txn("$a"));
    await g.accept("8", txn("$b"));
    assert.deepEqual(told, [], "numbers in order are no resend");
    await g.accept("7", txn("$a"));
    await g.accept("8", txn("$new-after-restart"));
    await g.accept("txn-x", txn("$opaque"));
    assert.deepEqual(told, [{ txnId: "7", queuedBefore: 2 }, { txnId: "8", queuedBefore: 2 }], "told before the repeat's new event was queued");
    assert.deepEqual(await queuedOrder(), ["$a", "$b", "$new-after-restart", "$opaque"]);
  });
});
