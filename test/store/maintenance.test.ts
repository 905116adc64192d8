// Dedup metadata (who wrote to whom, when) is kept only as long as a redelivery can need it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SEEN_ENVELOPE_RETENTION_MS } from "../../src/store/inbox.js";
import { APPSERVICE_SEEN_RETENTION_MS, StoreMaintenance } from "../../src/store/maintenance.js";
import { BridgeStore } from "../../src/store/store.js";

const HOUR = 60 * 60 * 1000;

describe("store maintenance", () => {
  let dir: string;
  let store: BridgeStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-maint-"));
    store = await BridgeStore.open(join(dir, "bridge.db"));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const envelope = (messageId: string) => ({ matrixUser: "@a:x", remoteUri: "tel:+1", senderDevice: 1, messageId, timestamp: 1, content: new Uint8Array([1]), identityChanged: false });
  const seenCount = async () => (await store.db.get<{ n: number }>("SELECT count(*) AS n FROM seen_envelopes"))!.n;

  it("forgets seen envelopes once they are older than the replay window, and keeps younger ones", async () => {
    const now = 1_800_000_000_000;
    await store.inbox.addOnce(envelope("OLD"), now - SEEN_ENVELOPE_RETENTION_MS - 1);
    await store.inbox.addOnce(envelope("EDGE"), now - SEEN_ENVELOPE_RETENTION_MS);
    await store.inbox.addOnce(envelope("NEW"), now - HOUR);
    const ev = (id: string) => [{ kind: "event" as const, roomId: "!r:x", payload: { event_id: id } }];
    await store.appservice.accept("1", ev("$old"), now - APPSERVICE_SEEN_RETENTION_MS - 1);
    await store.appservice.accept("2", ev("$new"), now - HOUR);

    const maintenance = new StoreMaintenance(store);
    assert.deepEqual((await maintenance.tick(now)).pruned, { seenEnvelopes: 1, appserviceItems: 1 });
    assert.equal(await store.inbox.wasSeen("OLD", "@a:x", "tel:+1", 1), false);
    assert.equal(await store.inbox.wasSeen("EDGE", "@a:x", "tel:+1", 1), true);
    assert.equal(await store.inbox.wasSeen("NEW", "@a:x", "tel:+1", 1), true);
    // Within the window a redelivery is still recognised; a received event too.
    assert.equal(await store.inbox.addOnce(envelope("NEW"), now), false);
    assert.equal(await store.appservice.accept("3", ev("$new"), now), 0);
    assert.equal(await store.appservice.accept("4", ev("$old"), now), 1);
  });

  it("prunes once per interval, however often it ticks", async () => {
    const now = 1_800_000_000_000;
    const maintenance = new StoreMaintenance(store, { pruneEveryMs: HOUR });
    assert.ok((await maintenance.tick(now)).pruned);
    await store.inbox.addOnce(envelope("A"), now - SEEN_ENVELOPE_RETENTION_MS - 10);
    assert.equal((await maintenance.tick(now + HOUR - 1)).pruned, undefined);
    assert.equal(await seenCount(), 1);
    assert.deepEqual((await maintenance.tick(now + HOUR)).pruned, { seenEnvelopes: 1, appserviceItems: 0 });
    assert.equal(await seenCount(), 0);
  });
});
