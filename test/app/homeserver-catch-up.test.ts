// After a homeserver outage the bridge reads recent room history and queues the events the homeserver never sent
// (Synapse drops those it had not put in a transaction when it restarts), in the room's order and ahead of what came
// after the outage. The store part runs on both engines; the catch-up's holding and resuming through its ports.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { HomeserverCatchUp, type CatchUpOptions } from "../../src/app/homeserver-catch-up.js";
import type { MatrixEvent } from "../../src/core/events.js";
import { CRYPTO_LANE, type QueuedInbound } from "../../src/store/appservice-queue.js";
import { BridgeStore } from "../../src/store/store.js";
import { createTestDatabase, needPostgres } from "../harness/postgres.js";

const ROOM = "!portal:example.org";
const OTHER = "!other:example.org";

const ev = (id: string, room = ROOM, ts = 1_000): MatrixEvent =>
  ({ type: "m.room.message", room_id: room, sender: "@alice:example.org", event_id: id, origin_server_ts: ts, content: { msgtype: "m.text", body: id } }) as MatrixEvent;

const tmp: string[] = [];
after(() => {
  for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
});

async function openSqlite(): Promise<BridgeStore> {
  const dir = mkdtempSync(join(tmpdir(), "mdb-catchup-"));
  tmp.push(dir);
  return BridgeStore.open(join(dir, "bridge.db"));
}

/** The queue's entries of a room in the order the worker would take them, consumed. */
async function drain(store: BridgeStore, room = ROOM): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const head = (await store.appservice.heads()).find((h) => h.roomId === room);
    if (!head) return out;
    out.push((head.payload as { event_id: string }).event_id);
    await store.appservice.done(head.seq);
  }
}

const engines: { name: string; open(): Promise<BridgeStore> }[] = [
  { name: "sqlite", open: openSqlite },
  { name: "postgres", open: async () => BridgeStore.open(await createTestDatabase()) },
];

for (const engine of engines) {
  describe(`queueing missed events on ${engine.name}`, function () {
    this.timeout(60_000);
    let store: BridgeStore;
    before(async function () {
      if (engine.name === "postgres") await needPostgres(this, "the PostgreSQL catch-up store tests");
    });
    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => store.close());

    it("queues what never came ahead of what came after it, in the timeline's order", async () => {
      await store.appservice.accept("1", [{ kind: "event", roomId: ROOM, payload: ev("$a") }]);
      // $b and $c were dropped by the homeserver; $d and $e came after its restart.
      await store.appservice.accept("2", [{ kind: "event", roomId: ROOM, payload: ev("$d") }, { kind: "event", roomId: OTHER, payload: ev("$x", OTHER) }]);
      await store.appservice.accept("3", [{ kind: "event", roomId: ROOM, payload: ev("$e") }]);
      const missed = await store.appservice.acceptMissed(ROOM, [ev("$a"), ev("$b"), ev("$c"), ev("$d"), ev("$e")]);
      assert.equal(missed, 2);
      assert.deepEqual(await drain(store), ["$a", "$b", "$c", "$d", "$e"]);
      assert.deepEqual(await drain(store, OTHER), ["$x"], "another room's entries are left as they were");
    });

    it("queues nothing twice: neither what came in a transaction nor a missed event read again", async () => {
      await store.appservice.accept("1", [{ kind: "event", roomId: ROOM, payload: ev("$a") }]);
      assert.equal(await drain(store).then((d) => d.length), 1, "handled and gone from the queue");
      assert.equal(await store.appservice.acceptMissed(ROOM, [ev("$a"), ev("$b")]), 1);
      assert.equal(await store.appservice.acceptMissed(ROOM, [ev("$a"), ev("$b")]), 0);
      await store.appservice.accept("2", [{ kind: "event", roomId: ROOM, payload: ev("$b") }]);
      assert.deepEqual(await drain(store), ["$b"]);
    });

    it("keeps an entry's retry state when it changes places, and keeps what a restart must resume", async () => {
      await store.appservice.accept("1", [{ kind: "event", roomId: ROOM, payload: ev("$late") }]);
      const [head] = await store.appservice.heads();
      await store.appservice.retryLater(head!.seq, "gatekeeper down", 0);
      await store.appservice.acceptMissed(ROOM, [ev("$early"), ev("$late")]);
      const entries: QueuedInbound[] = [];
      for (let h = (await store.appservice.heads())[0]; h; h = (await store.appservice.heads())[0]) {
        entries.push(h);
        await store.appservice.done(h.seq);
      }
      assert.deepEqual(entries.map((e) => [(e.payload as { event_id: string }).event_id, e.attempts]), [["$early", 0], ["$late", 1]]);

      assert.equal(await store.appservice.catchUpState(), undefined);
      await store.appservice.setCatchUpState({ since: 5, afterSeq: 7 });
      assert.deepEqual(await store.appservice.catchUpState(), { since: 5, afterSeq: 7 });
      await store.appservice.setCatchUpState(undefined);
      assert.equal(await store.appservice.catchUpState(), undefined);
    });
  });
}

describe("catching up after a homeserver outage", function () {
  this.timeout(30_000);
  let store: BridgeStore;
  let catchUp: HomeserverCatchUp | undefined;
  let answers: boolean;
  let timeline: MatrixEvent[];
  let reads: string[];
  let kicks: number;

  const start = async (extra: Partial<CatchUpOptions> = {}) => {
    catchUp = new HomeserverCatchUp({
      store,
      probe: async () => answers,
      rooms: async () => [{ roomId: ROOM, reader: "@wa_49:example.org" }],
      history: async (room) => {
        reads.push(room.roomId);
        return timeline;
      },
      busy: () => false,
      kick: () => void kicks++,
      log: pino({ level: "silent" }),
      intervalMs: 20,
      ...extra,
    });
    await catchUp.start();
    return catchUp;
  };
  const entry = (seq: number, roomId: string | null = ROOM): QueuedInbound => ({ seq, kind: "event", roomId, payload: {}, attempts: 0 });
  const until = async (what: string, cond: () => boolean | Promise<boolean>) => {
    for (const end = Date.now() + 5_000; !(await cond()); ) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  beforeEach(async () => {
    store = await openSqlite();
    answers = true;
    timeline = [];
    reads = [];
    kicks = 0;
  });
  afterEach(async () => {
    await catchUp?.stop();
    catchUp = undefined;
    await store.close();
  });

  it("holds a room's later entries while the homeserver is away and releases them once the room is read", async () => {
    await store.appservice.accept("1", [{ kind: "event", roomId: ROOM, payload: ev("$before") }]);
    const c = await start();
    answers = false;
    await c.suspect("test");
    const { afterSeq } = (await store.appservice.catchUpState())!;
    assert.equal(c.holds(entry(afterSeq)), false, "what came before the outage goes on");
    assert.equal(c.holds(entry(afterSeq + 1)), true, "what came after waits for the room to be read");
    assert.equal(c.holds(entry(afterSeq + 1, CRYPTO_LANE)), false, "to-device messages never wait");
    assert.equal(c.holds(entry(afterSeq + 1, null)), false);

    timeline = [ev("$before"), ev("$dropped")];
    await store.appservice.accept("2", [{ kind: "event", roomId: ROOM, payload: ev("$after") }]);
    timeline.push(ev("$after"));
    answers = true;
    await until("the catch-up to finish", async () => (await store.appservice.catchUpState()) === undefined);
    assert.deepEqual(reads, [ROOM]);
    assert.equal(c.holds(entry(afterSeq + 1)), false, "released");
    assert.ok(kicks > 0, "the worker was told");
    assert.deepEqual(await drain(store), ["$before", "$dropped", "$after"]);
  });

  it("resumes a catch-up that a restart of the bridge interrupted", async () => {
    await store.appservice.setCatchUpState({ since: 0, afterSeq: 0 });
    timeline = [ev("$dropped")];
    const c = await start();
    assert.equal(c.holds(entry(1)), true, "held from the start, before the worker runs");
    await until("the catch-up to finish", async () => (await store.appservice.catchUpState()) === undefined);
    assert.deepEqual(await drain(store), ["$dropped"]);
  });

  it("waits for the entry the worker is handling before the room's entries change places", async () => {
    let busy = true;
    await store.appservice.setCatchUpState({ since: 0, afterSeq: 0 });
    timeline = [ev("$dropped")];
    await start({ busy: () => busy });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(reads, [], "not read while the worker has one of its entries");
    busy = false;
    await until("the catch-up to finish", async () => (await store.appservice.catchUpState()) === undefined);
    assert.deepEqual(reads, [ROOM]);
  });

  it("skips a room it may not read, and tries again later when reading fails otherwise", async () => {
    await store.appservice.setCatchUpState({ since: 0, afterSeq: 0 });
    let failures = 2;
    await start({
      rooms: async () => [
        { roomId: ROOM, reader: "@wa_49:example.org" },
        { roomId: OTHER, reader: "@wa_50:example.org" },
      ],
      history: async (room) => {
        reads.push(room.roomId);
        if (room.roomId === OTHER) throw Object.assign(new Error("forbidden"), { status: 403 });
        if (failures-- > 0) throw new Error("connection reset");
        return [ev("$dropped")];
      },
    });
    await until("the catch-up to finish", async () => (await store.appservice.catchUpState()) === undefined);
    assert.equal(reads.filter((r) => r === ROOM).length, 3, "read again until it worked");
    assert.equal(reads.filter((r) => r === OTHER).length, 1, "a refusal is not retried");
    assert.deepEqual(await drain(store), ["$dropped"]);
  });
});
