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
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mdb-maint-"));
    store = BridgeStore.open(join(dir, "bridge.db"));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const envelope = (messageId: string) => ({ matrixUser: "@a:x", remoteUri: "tel:+1", senderDevice: 1, messageId, timestamp: 1, content: new Uint8Array([1]), identityChanged: false });
  const seenCount = () => (store.db.prepare("SELECT count(*) AS n FROM seen_envelopes").get() as { n: number }).n;

  it("forgets seen envelopes once they are older than the replay window, and keeps younger ones", () => {
    const now = 1_800_000_000_000;
    store.inbox.addOnce(envelope("OLD"), now - SEEN_ENVELOPE_RETENTION_MS - 1);
    store.inbox.addOnce(envelope("EDGE"), now - SEEN_ENVELOPE_RETENTION_MS);
    store.inbox.addOnce(envelope("NEW"), now - HOUR);
    const ev = (id: string) => [{ kind: "event" as const, roomId: "!r:x", payload: { event_id: id } }];
    store.appservice.accept("1", ev("$old"), now - APPSERVICE_SEEN_RETENTION_MS - 1);
    store.appservice.accept("2", ev("$new"), now - HOUR);

    const maintenance = new StoreMaintenance(store);
    assert.deepEqual(maintenance.tick(now).pruned, { seenEnvelopes: 1, appserviceItems: 1 });
    assert.equal(store.inbox.wasSeen("OLD", "@a:x", "tel:+1", 1), false);
    assert.equal(store.inbox.wasSeen("EDGE", "@a:x", "tel:+1", 1), true);
    assert.equal(store.inbox.wasSeen("NEW", "@a:x", "tel:+1", 1), true);
    // Within the window a redelivery is still recognised; a received event too.
    assert.equal(store.inbox.addOnce(envelope("NEW"), now), false);
    assert.equal(store.appservice.accept("3", ev("$new"), now), 0);
    assert.equal(store.appservice.accept("4", ev("$old"), now), 1);
  });

  it("prunes once per interval, however often it ticks", () => {
    const now = 1_800_000_000_000;
    const maintenance = new StoreMaintenance(store, { pruneEveryMs: HOUR });
    assert.ok(maintenance.tick(now).pruned);
    store.inbox.addOnce(envelope("A"), now - SEEN_ENVELOPE_RETENTION_MS - 10);
    assert.equal(maintenance.tick(now + HOUR - 1).pruned, undefined);
    assert.equal(seenCount(), 1);
    assert.deepEqual(maintenance.tick(now + HOUR).pruned, { seenEnvelopes: 1, appserviceItems: 0 });
    assert.equal(seenCount(), 0);
  });
});
