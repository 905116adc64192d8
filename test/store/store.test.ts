import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { BridgeStore } from "../../src/store/store.js";
import { migrate, type SqliteDb } from "../../src/store/database.js";
import { SqliteEngine } from "../../src/sql/engines/sqlite.js";
import type { QueuedInbound } from "../../src/store/appservice-queue.js";
import { MIGRATIONS } from "../../src/store/migrations.js";

describe("store", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-store-"));
    path = join(dir, "bridge.db");
  });
  afterEach(async () => rmSync(dir, { recursive: true, force: true }));

  it("applies migrations once, in WAL mode, and refuses a newer schema", async () => {
    const s = await BridgeStore.open(path);
    assert.equal(sqlite(s).pragma("journal_mode", { simple: true }), "wal");
    assert.equal(sqlite(s).pragma("user_version", { simple: true }), MIGRATIONS.at(-1)!.version);
    await s.close();
    const again = await BridgeStore.open(path); // no error re-running
    sqlite(again).pragma("user_version = 999");
    await again.close();
    const raw = new Database(path);
    assert.throws(() => migrate(raw, MIGRATIONS), /newer than this bridge knows/);
    raw.close();
  });

  it("accepts an appservice transaction once and keeps per-room order", async () => {
    const s = await BridgeStore.open(path);
    const items = [
      { kind: "event" as const, roomId: "!a:x", payload: { n: 1 } },
      { kind: "event" as const, roomId: "!a:x", payload: { n: 2 } },
      { kind: "event" as const, roomId: "!b:x", payload: { n: 3 } },
    ];
    assert.equal(await s.appservice.accept("t1", items), 3);
    assert.equal(await s.appservice.accept("t1", items), 0);
    assert.equal(await s.appservice.pending(), 3);
    const due = await s.appservice.due(Date.now(), 10);
    assert.deepEqual(due.map((d) => (d.payload as { n: number }).n), [1, 3]);
    await s.appservice.retryLater(due[0]!.seq, "boom", Date.now() + 60_000);
    // room !a is blocked behind its failed head: n=2 must not overtake it
    assert.deepEqual((await s.appservice.due(Date.now(), 10)).map((d) => (d.payload as { n: number }).n), [3]);
    await s.close();
  });

  it("processes new events that come under a transaction ID used before (homeserver restarted)", async () => {
    const s = await BridgeStore.open(path);
    const ev = (id: string) => ({ kind: "event" as const, roomId: "!a:x", payload: { event_id: id, type: "m.room.message" } });
    assert.equal(await s.appservice.accept("5", [ev("$one"), ev("$two")]), 2);
    // The same ID again with one old and one new event: only the new one is queued.
    assert.equal(await s.appservice.accept("5", [ev("$two"), ev("$three")]), 1);
    // An event resent under another transaction ID is still a duplicate.
    assert.equal(await s.appservice.accept("6", [ev("$one")]), 0);
    assert.deepEqual((await drain(s)).map((d) => (d.payload as { event_id: string }).event_id), ["$one", "$two", "$three"]);
    await s.close();
  });

  it("tells repeated ephemeral content apart by transaction, and to-device messages by content", async () => {
    const s = await BridgeStore.open(path);
    const typing = (on: boolean) => ({ kind: "ephemeral" as const, roomId: "!a:x", payload: { type: "m.typing", room_id: "!a:x", content: { user_ids: on ? ["@u:x"] : [] } } });
    const toDevice = { kind: "to_device" as const, roomId: "crypto:", payload: { type: "m.room.encrypted", content: { ciphertext: "abc" } } };
    assert.equal(await s.appservice.accept("1", [typing(true), toDevice]), 2);
    assert.equal(await s.appservice.accept("1", [typing(true), toDevice]), 0, "a resend of the same transaction");
    assert.equal(await s.appservice.accept("2", [typing(false)]), 1);
    assert.equal(await s.appservice.accept("3", [typing(true), toDevice]), 1, "typing again is new; the same to-device message is not");
    await s.close();
  });

  it("requeues an item on purpose past the duplicate check, and prunes what it remembers", async () => {
    const s = await BridgeStore.open(path);
    const item = { kind: "event" as const, roomId: "!a:x", payload: { event_id: "$late" } };
    assert.equal(await s.appservice.accept("1", [item], 1000), 1);
    await s.appservice.requeue(item);
    assert.equal(await s.appservice.pending(), 2);
    assert.equal(await s.appservice.pruneSeen(2000), 1);
    assert.equal(await s.appservice.accept("9", [item], 3000), 1, "forgotten after the horizon");
    await s.close();
  });

  it("keeps outbox and inbox entries across a reopen and deduplicates envelopes", async () => {
    let s = await BridgeStore.open(path);
    const seq = await s.outbox.add({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "AA", content: new Uint8Array([1, 2]) });
    await s.outbox.add({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "BB", content: new Uint8Array([3]) });
    await s.transaction(() => s.outbox.setEnvelopes(seq, new Uint8Array([9])));
    const e = { matrixUser: "@a:x", remoteUri: "tel:+1", senderDevice: 1, messageId: "CC", timestamp: 5, content: new Uint8Array([7]), identityChanged: false };
    assert.equal(await s.inbox.addOnce(e), true);
    assert.equal(await s.inbox.addOnce(e), false);
    await s.close();
    s = await BridgeStore.open(path);
    const heads = await s.outbox.heads();
    assert.equal(heads.length, 1);
    assert.equal(heads[0]!.messageId, "AA");
    assert.deepEqual([...heads[0]!.envelopes!], [9]);
    await s.outbox.remove(heads[0]!.seq);
    assert.equal((await s.outbox.heads())[0]!.messageId, "BB");
    assert.equal((await s.inbox.heads()).length, 1);
    assert.equal(await s.inbox.wasSeen("CC", "@a:x", "tel:+1", 1), true);
    await s.inbox.remove((await s.inbox.heads())[0]!.seq);
    assert.equal(await s.inbox.pending(), 0);
    assert.equal(await s.inbox.wasSeen("CC", "@a:x", "tel:+1", 1), true, "dedup record outlives the content");
    await s.close();
  });

  it("maps messages both ways and forgets a portal room", async () => {
    const s = await BridgeStore.open(path);
    await s.portals.upsert({ matrixUser: "@a:x", remoteUri: "tel:+1", roomId: "!r:x", encrypted: false });
    await s.messages.put({ matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "M1", roomId: "!r:x", eventId: "$e1", direction: "in", sender: "tel:+1", timestamp: 10 });
    assert.equal((await s.messages.byEventId("!r:x", "$e1"))!.messageId, "M1");
    assert.equal((await s.messages.byMessageId("@a:x", "tel:+1", "M1"))!.eventId, "$e1");
    await s.portals.forgetRoom("!r:x");
    assert.equal((await s.portals.get("@a:x", "tel:+1"))!.roomId, null);
    assert.equal(await s.portals.byRoom("!r:x"), undefined);
    await s.close();
  });
});

/** Every queued inbound item in order, taking each head as done. */
async function drain(s: BridgeStore): Promise<QueuedInbound[]> {
  const out: QueuedInbound[] = [];
  for (let head = (await s.appservice.heads())[0]; head; head = (await s.appservice.heads())[0]) {
    out.push(head);
    await s.appservice.done(head.seq);
  }
  return out;
}

function sqlite(s: BridgeStore): SqliteDb {
  assert.ok(s.db instanceof SqliteEngine, "a SQLite store");
  return s.db.handle;
}
