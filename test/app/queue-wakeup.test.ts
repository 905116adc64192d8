// The durable queues wake their workers themselves: a committed entry is handled at once although the poll is set
// to an hour, an entry queued inside a transaction is announced only once that transaction has committed (another
// connection can see it then), a retry wakes the worker when it falls due, and the entries being handled are not
// read again. On SQLite and on a real PostgreSQL server.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { QueueWorker } from "../../src/app/queue-worker.js";
import type { OutboxEntry } from "../../src/store/outbox.js";
import { BridgeStore } from "../../src/store/store.js";
import { createTestDatabase, POSTGRES_START_TIMEOUT_MS, postgresUnavailableReason } from "../harness/postgres.js";

const HOUR = 3_600_000;
const tmp: string[] = [];

after(() => {
  for (const dir of tmp) rmSync(dir, { recursive: true, force: true });
});

const engines = [
  {
    name: "sqlite",
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "mdb-wake-"));
      tmp.push(dir);
      return BridgeStore.open(join(dir, "bridge.db"));
    },
  },
  {
    name: "postgres",
    open: async () => BridgeStore.open(await createTestDatabase()),
  },
];

const entry = (n: number, chat = "a") => ({ matrixUser: `@u${chat}:example.org`, remoteUri: "tel:+4915112345678", messageId: `m${n}`, content: new Uint8Array([n]) });

async function drained(store: BridgeStore, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await store.outbox.pending()) > 0) {
    if (Date.now() > deadline) throw new Error("the queue did not drain");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function until(what: string, check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

for (const engine of engines) {
  describe(`durable queue wake-up on ${engine.name}`, function () {
    this.timeout(60_000);
    let store: BridgeStore;
    let worker: QueueWorker<OutboxEntry> | undefined;

    before(async function () {
      if (engine.name !== "postgres") return;
      const unavailable = postgresUnavailableReason();
      if (unavailable !== undefined) {
        console.warn(`    ${unavailable}; skipping the queue wake-up tests on PostgreSQL`);
        this.skip();
      }
      // Started here, under a timeout that covers a first installation, rather than in the first test.
      this.timeout(POSTGRES_START_TIMEOUT_MS);
      await BridgeStore.open(await createTestDatabase()).then((s) => s.close());
    });
    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => {
      await worker?.stop();
      worker = undefined;
      await store.close();
    });

    function startWorker(handle: (e: OutboxEntry) => Promise<void>, seenBusy?: (busy: readonly OutboxEntry[]) => void) {
      worker = new QueueWorker<OutboxEntry>(
        {
          name: "test",
          due: (now, busy) => {
            seenBusy?.(busy);
            return store.outbox.due(now, 1000, busy);
          },
          onQueued: (l) => store.outbox.onQueued(l),
          key: (e) => `${e.matrixUser}\u0000${e.remoteUri}`,
          attempts: (e) => e.attempts,
          handle,
          done: (e) => store.outbox.remove(e.seq),
          retryLater: (e, error, notBefore) => store.outbox.retryLater(e.seq, error, notBefore),
          giveUp: async () => {},
          maxAttempts: 5,
        },
        pino({ level: "silent" }),
        HOUR,
      );
      worker.start();
    }

    it("handles a committed entry at once, without waiting for the poll", async () => {
      const handled: string[] = [];
      startWorker(async (e) => void handled.push(e.messageId));
      await new Promise((r) => setTimeout(r, 50)); // the first look (at start) found nothing
      await store.outbox.add(entry(1));
      await until("the entry to be handled", () => handled.length === 1, 1_000);
      assert.deepEqual(handled, ["m1"]);
    });

    it("announces an entry queued inside a transaction only after the commit, and never one rolled back", async () => {
      const heard: number[] = [];
      const off = store.outbox.onQueued(() => heard.push(Date.now()));
      try {
        let committedAt = 0;
        await store.transaction(async () => {
          await store.outbox.add(entry(1));
          await new Promise((r) => setTimeout(r, 30));
          assert.equal(heard.length, 0, "announced before the commit");
          committedAt = Date.now();
        });
        assert.equal(heard.length, 1);
        assert.ok(heard[0]! >= committedAt);
        // What a listener does on hearing: look from outside the transaction, where only committed rows are.
        assert.equal((await store.outbox.due(Date.now())).length, 1);

        await assert.rejects(
          store.transaction(async () => {
            await store.outbox.add(entry(2));
            throw new Error("undo");
          }),
          /undo/,
        );
        // A wake-up after a rollback finds nothing new: harmless, and the worker never misses a commit.
        assert.equal((await store.outbox.due(Date.now())).length, 1);
      } finally {
        off();
      }
    });

    it("wakes up for a retry when it falls due, though the poll is an hour away", async () => {
      let attempts = 0;
      startWorker(async () => {
        attempts++;
        if (attempts === 1) throw new Error("not yet");
      });
      await store.outbox.add(entry(1));
      // The first retry's backoff is 0.5–1 s; the poll is an hour away, so 10 s leaves a starved CI machine room and
      // still tells a wake-up from the poll.
      await until("the retry", () => attempts === 2, 10_000);
      await drained(store);
    });

    it("does not read the entries being handled again", async () => {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const busySeen: number[][] = [];
      const dueSeen: number[][] = [];
      startWorker(
        async (e) => {
          if (e.messageId === "m1") await gate;
        },
        (busy) => busySeen.push(busy.map((b) => b.seq)),
      );
      const first = await store.outbox.add(entry(1, "a"));
      await until("the first entry to be taken", () => busySeen.some((b) => b.length === 0));
      await new Promise((r) => setTimeout(r, 20));
      await store.outbox.add(entry(2, "b"));
      await until("a look with the first entry busy", () => busySeen.some((b) => b.includes(first)));
      dueSeen.push((await store.outbox.due(Date.now(), 1000, [{ seq: first }])).map((e) => e.seq));
      assert.ok(!dueSeen[0]!.includes(first), "the busy entry was read again");
      release();
      await drained(store);
    });
  });
}
