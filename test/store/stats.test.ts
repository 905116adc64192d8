// StoreStats over a real SQLite store: queue depths, the oldest item's age per queue, portal and puppet counts.
import assert from "node:assert/strict";
import { BridgeStore } from "../../src/store/store.js";
import { StoreStats } from "../../src/store/stats.js";

describe("StoreStats", () => {
  it("counts what waits in each queue and how long the oldest has waited", async () => {
    const store = await BridgeStore.open(":memory:");
    try {
      const stats = new StoreStats(store.db);
      for (const q of ["matrix_inbound", "outbox", "inbox"] as const) assert.deepEqual(await stats.queue(q, 10_000), { depth: 0, oldestAgeSeconds: 0 });

      await store.appservice.accept("1", [{ kind: "event", roomId: "!a:x", payload: { event_id: "$1" } }], 1_000);
      await store.appservice.accept("2", [{ kind: "event", roomId: "!a:x", payload: { event_id: "$2" } }], 4_000);
      await store.outbox.add({ matrixUser: "@a:x", remoteUri: "wa:u/1", messageId: "M1", content: new Uint8Array([1]) }, 2_000);
      await store.inbox.addOnce({ matrixUser: "@a:x", remoteUri: "wa:u/1", senderDevice: 1, messageId: "I1", timestamp: 0, content: new Uint8Array([1]), identityChanged: false }, 7_000);

      assert.deepEqual(await stats.queue("matrix_inbound", 10_000), { depth: 2, oldestAgeSeconds: 9 });
      assert.deepEqual(await stats.queue("outbox", 10_000), { depth: 1, oldestAgeSeconds: 8 });
      assert.deepEqual(await stats.queue("inbox", 10_000), { depth: 1, oldestAgeSeconds: 3 });

      // An item from before queued_at existed (0) has no known age; it still counts in the depth.
      await store.db.run("UPDATE matrix_inbound SET queued_at = 0 WHERE payload LIKE '%$1%'");
      assert.deepEqual(await stats.queue("matrix_inbound", 10_000), { depth: 2, oldestAgeSeconds: 6 });

      assert.equal(await stats.portals(), 0);
      await store.portals.upsert({ matrixUser: "@a:x", remoteUri: "wa:u/1", roomId: "!p:x", encrypted: true });
      assert.equal(await stats.portals(), 1);
      assert.equal(await stats.puppets(), 0);
    } finally {
      await store.close();
    }
  });
});
