// QueueWorker over an in-memory queue: a permanent error gives up at once (and the chat's next entry runs), a
// transient one is retried until maxAttempts.
import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { pino } from "pino";
import { isPermanent, QueueWorker, type QueueOps } from "../../src/app/queue-worker.js";
import { MatrixApiError, MatrixConnectionError, isPermanentMatrixError } from "../../src/matrix/errors.js";
import { StoreError } from "../../src/sql/sql.js";

interface Item {
  id: string;
  chat: string;
  attempts: number;
}

/** A FIFO per chat, in memory; retries are due at once so the test does not wait out the backoff. */
class MemoryQueue {
  readonly items: Item[] = [];
  readonly handled: string[] = [];
  readonly gaveUp: { id: string; error: unknown }[] = [];
  readonly retries: string[] = [];
  doneIds: string[] = [];

  constructor(private readonly fail: (item: Item) => unknown) {}

  ops(maxAttempts: number): QueueOps<Item> {
    return {
      name: "test",
      due: async () => {
        const heads = new Map<string, Item>();
        for (const i of this.items) if (!heads.has(i.chat)) heads.set(i.chat, i);
        return [...heads.values()];
      },
      key: (i) => i.chat,
      attempts: (i) => i.attempts,
      handle: async (i) => {
        this.handled.push(i.id);
        const err = this.fail(i);
        if (err !== undefined) throw err;
      },
      done: async (i) => {
        this.doneIds.push(i.id);
        this.items.splice(this.items.indexOf(i), 1);
      },
      retryLater: async (i) => {
        this.retries.push(i.id);
        i.attempts++;
      },
      giveUp: async (i, error) => void this.gaveUp.push({ id: i.id, error }),
      maxAttempts,
    };
  }
}

async function drain(q: MemoryQueue, maxAttempts: number): Promise<void> {
  const worker = new QueueWorker(q.ops(maxAttempts), pino({ level: "silent" }), 5);
  worker.start();
  const deadline = Date.now() + 5_000;
  while (q.items.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await worker.stop();
  assert.equal(q.items.length, 0, "the queue did not drain");
}

const tooLarge = () => new MatrixApiError(413, "M_TOO_LARGE", "event too large", undefined, "PUT", "/_matrix/client/v3/rooms/!r/send/m.room.message/t", {});

describe("QueueWorker", () => {
  it("handles nothing before start(), however often it is kicked", async () => {
    const q = new MemoryQueue(() => undefined);
    q.items.push({ id: "early", chat: "a", attempts: 0 });
    const worker = new QueueWorker(q.ops(20), pino({ level: "silent" }), 5);
    worker.kick();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(q.handled, [], "kicked before start");
    worker.start();
    const deadline = Date.now() + 5_000;
    while (q.items.length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await worker.stop();
    assert.deepEqual(q.handled, ["early"]);
  });

  it("gives up at once on a permanent error and goes on with the chat's next entry", async () => {
    const q = new MemoryQueue((i) => (i.id === "big" ? tooLarge() : undefined));
    q.items.push({ id: "big", chat: "a", attempts: 0 }, { id: "next", chat: "a", attempts: 0 });
    await drain(q, 20);
    assert.deepEqual(q.handled, ["big", "next"]);
    assert.deepEqual(q.retries, []);
    assert.deepEqual(q.gaveUp.map((g) => g.id), ["big"]);
    assert.ok(q.gaveUp[0]!.error instanceof MatrixApiError);
    assert.deepEqual(q.doneIds, ["big", "next"]);
  });

  it("retries a transient error until maxAttempts, then gives up", async () => {
    const lost = new MatrixConnectionError("PUT", "/x", new Error("ECONNRESET"));
    const q = new MemoryQueue((i) => (i.id === "flaky" ? lost : undefined));
    q.items.push({ id: "flaky", chat: "a", attempts: 0 });
    await drain(q, 3);
    assert.deepEqual(q.handled, ["flaky", "flaky", "flaky"]);
    assert.deepEqual(q.retries, ["flaky", "flaky"]);
    assert.deepEqual(q.gaveUp.map((g) => g.id), ["flaky"]);
  });

  it("waits out a full disk however many attempts it takes, and never gives the entry up", async () => {
    let failures = 5;
    const q = new MemoryQueue((i) => (i.id === "blocked" && failures-- > 0 ? new StoreError("disk-full", "the database's disk is full") : undefined));
    q.items.push({ id: "blocked", chat: "a", attempts: 0 }, { id: "after", chat: "a", attempts: 0 });
    await drain(q, 3);
    assert.deepEqual(q.gaveUp, []);
    assert.deepEqual(q.handled, ["blocked", "blocked", "blocked", "blocked", "blocked", "blocked", "after"]);
    assert.deepEqual(q.doneIds, ["blocked", "after"]);
  });

  it("treats any error with permanent: true as permanent", async () => {
    const q = new MemoryQueue((i) => (i.id === "bad" ? Object.assign(new Error("refused"), { permanent: true }) : undefined));
    q.items.push({ id: "bad", chat: "a", attempts: 0 });
    await drain(q, 20);
    assert.deepEqual(q.handled, ["bad"]);
    assert.deepEqual(q.gaveUp.map((g) => g.id), ["bad"]);
  });
});

describe("Matrix errors: which are permanent", () => {
  const api = (status: number, errcode: string) => new MatrixApiError(status, errcode, "x", undefined, "PUT", "/p", {});
  it("413 and malformed requests are permanent", async () => {
    for (const e of [api(413, "M_TOO_LARGE"), api(413, "M_UNKNOWN"), api(400, "M_BAD_JSON"), api(400, "M_NOT_JSON"), api(400, "M_INVALID_PARAM")]) {
      assert.equal(e.permanent, true, e.message);
      assert.equal(isPermanent(e), true);
    }
  });
  it("rate limits, server errors, races and lost connections are not", async () => {
    for (const e of [api(429, "M_LIMIT_EXCEEDED"), api(500, "M_UNKNOWN"), api(502, "M_UNKNOWN"), api(403, "M_FORBIDDEN"), api(404, "M_NOT_FOUND")]) {
      assert.equal(e.permanent, false, e.message);
    }
    assert.equal(isPermanentMatrixError(new MatrixConnectionError("PUT", "/p", new Error("reset"))), false);
    assert.equal(isPermanent(new Error("plain")), false);
  });
});
