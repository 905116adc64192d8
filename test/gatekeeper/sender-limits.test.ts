// The per-sender flood limits on their own, with a clock the test moves: the window rolls, an idle chat becomes new
// again, and the retry time says when the oldest counted message or chat stops counting.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openGatekeeperDb, type Db } from "../../src/gatekeeper/db.js";
import { CHAT_IDLE_MS, SenderLimits } from "../../src/gatekeeper/sender-limits.js";

describe("SenderLimits", () => {
  let dir: string;
  let db: Db;
  let now = 1_767_225_600_000;
  const clock = () => now;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sender-limits-"));
    db = openGatekeeperDb(dir);
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("allows N messages a minute and says when the next one is allowed", () => {
    const limits = new SenderLimits(db, { messagesPerMinute: 3, newChatsPerHour: 0 }, clock);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(limits.check("tel:+4915112345678", "matrix:u/a:x.org"), { ok: true });
      limits.record("tel:+4915112345678", "matrix:u/a:x.org");
      now += 10_000;
    }
    assert.deepEqual(limits.check("tel:+4915112345678", "matrix:u/a:x.org"), { ok: false, limit: "messages_per_minute", retryAfterMs: 30_000 });
    // Another sender has a budget of its own.
    assert.deepEqual(limits.check("tel:+4915112345679", "matrix:u/a:x.org"), { ok: true });
    now += 30_000;
    assert.deepEqual(limits.check("tel:+4915112345678", "matrix:u/a:x.org"), { ok: true });
  });

  it("counts a chat against whoever wrote first, and an idle chat as new again", () => {
    const limits = new SenderLimits(db, { messagesPerMinute: 0, newChatsPerHour: 1 }, clock);
    const alice = "matrix:u/alice:x.org";
    limits.record(alice, "tel:+4915112345678");
    now += 60_000;
    const refused = limits.check(alice, "tel:+4915112345679");
    assert.deepEqual(refused, { ok: false, limit: "new_chats_per_hour", retryAfterMs: 3_540_000 });
    // A reply is not a new chat, for either side.
    assert.deepEqual(limits.check("tel:+4915112345678", alice), { ok: true });
    assert.deepEqual(limits.check(alice, "tel:+4915112345678"), { ok: true });
    // The hour passes: a new chat is allowed again.
    now += 3_540_000;
    assert.deepEqual(limits.check(alice, "tel:+4915112345679"), { ok: true });
    // After 30 idle days the first pair is forgotten, and writing there is a new chat once more.
    limits.record(alice, "tel:+4915112345679");
    now += CHAT_IDLE_MS + 1;
    limits.record("tel:+4915112345000", "tel:+4915112345001"); // prunes
    assert.equal((db.prepare("SELECT count(*) AS n FROM chat_pairs WHERE a = ? OR b = ?").get(alice, alice) as { n: number }).n, 0);
  });

  it("refuses a negative or fractional limit", () => {
    assert.throws(() => new SenderLimits(db, { messagesPerMinute: -1, newChatsPerHour: 1 }), /messagesPerMinute/);
    assert.throws(() => new SenderLimits(db, { messagesPerMinute: 1, newChatsPerHour: 0.5 }), /newChatsPerHour/);
  });
});
