// The same store behaviour on both engines: SQLite (embedded default) and a real PostgreSQL server.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BridgeStore } from "../../src/store/store.js";
import { numberPlaceholders } from "../../src/sql/engines/postgres.js";
import { ensureLocalIdentity } from "../../src/protocol/signal/identity.js";
import { createDeviceKeysUpload } from "../../src/protocol/signal/prekeys.js";
import { createTestDatabase, POSTGRES_START_TIMEOUT_MS, postgresUnavailableReason, postgresUrl } from "../harness/postgres.js";

interface Engine {
  name: string;
  open(): Promise<BridgeStore>;
}

const tmp: string[] = [];

const engines: Engine[] = [
  {
    name: "sqlite",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "mdb-engine-"));
      tmp.push(dir);
      return BridgeStore.open(join(dir, "bridge.db"));
    },
  },
  {
    name: "postgres",
    async open() {
      return BridgeStore.open(await createTestDatabase());
    },
  },
];

after(async () => {
  for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
});

describe("store engines: placeholders", () => {
  it("numbers ? outside quotes for PostgreSQL", () => {
    assert.equal(numberPlaceholders("SELECT ? AS a, '?' AS b, \"q?\" FROM t WHERE x = ? AND y = ?"), "SELECT $1 AS a, '?' AS b, \"q?\" FROM t WHERE x = $2 AND y = $3");
  });
});

for (const engine of engines) {
  describe(`store on ${engine.name}`, function () {
    this.timeout(60_000);
    let s: BridgeStore;
    before(async function () {
      // PostgreSQL comes from Debian's packages (scripts/postgres.sh, run by make test). Say loudly when a machine
      // cannot have it.
      const unavailable = engine.name === "postgres" ? postgresUnavailableReason() : undefined;
      if (unavailable !== undefined) {
        console.warn(`    ${unavailable}; skipping the PostgreSQL store tests`);
        this.skip();
      }
      if (engine.name === "postgres") {
        // Started here, under a timeout that covers a first installation, rather than in the first test.
        this.timeout(POSTGRES_START_TIMEOUT_MS);
        await postgresUrl();
      }
    });
    beforeEach(async () => {
      s = await engine.open();
    });
    afterEach(async () => s.close());

    it("queues appservice items once, keeps per-room order, and holds a room behind its failed head", async () => {
      const items = [
        { kind: "event" as const, roomId: "!a:x", payload: { event_id: "$1", n: 1 } },
        { kind: "event" as const, roomId: "!a:x", payload: { event_id: "$2", n: 2 } },
        { kind: "event" as const, roomId: "!b:x", payload: { event_id: "$3", n: 3 } },
      ];
      assert.equal(await s.appservice.accept("1", items), 3);
      assert.equal(await s.appservice.accept("1", items), 0);
      const due = await s.appservice.due(Date.now(), 10);
      assert.deepEqual(due.map((d) => (d.payload as { n: number }).n), [1, 3]);
      await s.appservice.retryLater(due[0]!.seq, "boom", Date.now() + 60_000);
      assert.deepEqual((await s.appservice.due(Date.now(), 10)).map((d) => (d.payload as { n: number }).n), [3]);
      assert.equal(await s.appservice.pending(), 3);
      await s.appservice.setExpectedTxn(7);
      assert.equal(await s.appservice.expectedTxn(), 7);
    });

    it("returns outbox sequence numbers, keeps bytes intact and deduplicates envelopes", async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 0]);
      const a = await s.outbox.add({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "AA", content: bytes });
      const b = await s.outbox.add({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "BB", content: bytes });
      assert.ok(b > a);
      await s.outbox.setEnvelopes(a, new Uint8Array([9, 0, 9]));
      const head = (await s.outbox.heads())[0]!;
      assert.deepEqual([...head.content], [...bytes]);
      assert.deepEqual([...head.envelopes!], [9, 0, 9]);
      assert.equal(await s.outbox.hasMessage("@a:x", "tel:+1", "BB"), true);
      const entry = { matrixUser: "@a:x", remoteUri: "tel:+1", senderDevice: 1, messageId: "CC", timestamp: 1_800_000_000_000, content: bytes, identityChanged: true };
      assert.equal(await s.inbox.addOnce(entry), true);
      assert.equal(await s.inbox.addOnce(entry), false);
      const inboxHead = (await s.inbox.heads())[0]!;
      assert.equal(inboxHead.timestamp, 1_800_000_000_000, "millisecond timestamps survive (64-bit columns)");
      assert.equal(inboxHead.identityChanged, true);
    });

    it("rolls a failed unit of work back whole, and a failed nested step only itself", async () => {
      await assert.rejects(
        s.transaction(async () => {
          await s.portals.upsert({ matrixUser: "@a:x", remoteUri: "tel:+1", roomId: "!r:x", encrypted: false });
          throw new Error("abort");
        }),
        /abort/,
      );
      assert.equal(await s.portals.get("@a:x", "tel:+1"), undefined);
      await s.transaction(async () => {
        await s.portals.upsert({ matrixUser: "@a:x", remoteUri: "tel:+1", roomId: "!r:x", encrypted: true });
        await s.transaction(async () => {
          await s.portals.upsert({ matrixUser: "@a:x", remoteUri: "tel:+2", roomId: "!q:x", encrypted: false });
          throw new Error("inner");
        }).catch(() => undefined);
      });
      assert.equal((await s.portals.get("@a:x", "tel:+1"))?.encrypted, true);
      assert.equal(await s.portals.get("@a:x", "tel:+2"), undefined);
    });

    it("keeps the first mapping of a message ID, moves read markers forward only, replaces reactions", async () => {
      const m = { matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "M1", roomId: "!r:x", eventId: "$e1", direction: "in" as const, sender: "tel:+1", timestamp: 10 };
      assert.equal(await s.messages.put(m), true);
      assert.equal(await s.messages.put({ ...m, eventId: "$other" }), false);
      assert.equal((await s.messages.byEventId("!r:x", "$e1"))?.messageId, "M1");
      await s.readMarkers.set("!r:x", 50);
      await s.readMarkers.set("!r:x", 20);
      assert.equal(await s.readMarkers.get("!r:x"), 50);
      const r = { matrixUser: "@a:x", remoteUri: "tel:+1", targetMessageId: "M1", reactor: "tel:+1", emoji: "👍", roomId: "!r:x", eventId: "$re1" };
      await s.reactions.put(r);
      await s.reactions.put({ ...r, emoji: "❤️", eventId: "$re2" });
      assert.equal((await s.reactions.get("@a:x", "tel:+1", "M1", "tel:+1"))?.emoji, "❤️");
      assert.equal(await s.reactions.byEvent("!r:x", "$re1"), undefined);
    });

    it("holds Signal state: one identity per device however often it is ensured, prekeys committed atomically", async () => {
      const uri = "matrix:u/alice:x";
      const [one, two] = await Promise.all([ensureLocalIdentity(s.db, uri, { deviceId: 1 }), ensureLocalIdentity(s.db, uri, { deviceId: 1 })]);
      assert.equal(one.localId, two.localId);
      const upload = await one.transact(async (uow) => createDeviceKeysUpload(uow, { oneTimePreKeys: 5 }));
      assert.equal(upload.oneTimePreKeys?.length, 5);
      assert.deepEqual(await one.countOneTimePreKeys(), { preKeys: 5, kyberPreKeys: 5 });
    });
  });
}
