// The disappearing-messages schedule survives a restart: what was scheduled is due after the store is reopened.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BridgeStore } from "../../src/store/store.js";

describe("store: disappearing messages", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "mdb-disappearing-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps timers and scheduled redactions across a reopen; rescheduling keeps the earlier time", async () => {
    const path = join(dir, "bridge.db");
    let store = await BridgeStore.open(path);
    await store.disappearing.setTimer("@a:x", "tel:+1", { seconds: 60, setAt: 5 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$1", redactAs: "@p:x", expiresAt: 2_000 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$2", redactAs: "@p:x", expiresAt: 1_000 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$2", redactAs: "@p:x", expiresAt: 9_000 });
    await store.close();
    store = await BridgeStore.open(path);
    assert.deepEqual(await store.disappearing.timer("@a:x", "tel:+1"), { seconds: 60, setAt: 5 });
    assert.deepEqual(await store.disappearing.timer("@a:x", "tel:+2"), { seconds: 0, setAt: 0 });
    assert.equal(await store.disappearing.nextDue(), 1_000);
    assert.deepEqual((await store.disappearing.due(1_500, 10)).map((e) => e.eventId), ["$2"]);
    await store.disappearing.retryLater("!r", "$2", 3_000);
    assert.deepEqual((await store.disappearing.due(2_500, 10)).map((e) => [e.eventId, e.attempts]), [["$1", 0]]);
    await store.disappearing.done("!r", "$1");
    assert.deepEqual((await store.disappearing.due(5_000, 10)).map((e) => [e.eventId, e.attempts]), [["$2", 1]]);
    await store.close();
  });
});
