// The disappearing-messages schedule survives a restart: what was scheduled is due after the store is reopened, on
// SQLite and on PostgreSQL.
import assert from "node:assert/strict";
import { BridgeStore } from "../../src/store/store.js";
import { describeOnBothEngines } from "./on-both-engines.js";

describeOnBothEngines("store: disappearing messages", (engine) => {
  it("keeps timers and scheduled redactions across a reopen; rescheduling keeps the earlier time", async () => {
    const where = await engine.location();
    let store = await BridgeStore.open(where);
    await store.disappearing.setTimer("@a:x", "tel:+1", { seconds: 60, setAt: 5 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$1", redactAs: "@p:x", expiresAt: 2_000 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$2", redactAs: "@p:x", expiresAt: 1_000 });
    await store.disappearing.schedule({ roomId: "!r", eventId: "$2", redactAs: "@p:x", expiresAt: 9_000 });
    await store.close();
    store = await BridgeStore.open(where);
    assert.deepEqual(await store.disappearing.timer("@a:x", "tel:+1"), { seconds: 60, setAt: 5 });
    assert.deepEqual(await store.disappearing.timer("@a:x", "tel:+2"), { seconds: 0, setAt: 0 });
    assert.equal(await store.disappearing.nextDue(), 1_000);
    assert.deepEqual((await store.disappearing.due(1_500, 10)).map((e) => e.eventId), ["$2"]);
    await store.disappearing.retryLater("!r", "$2", 3_000);
    assert.deepEqual((await store.disappearing.due(2_500, 10)).map((e) => [e.eventId, e.attempts]), [["$1", 0]]);
    await store.disappearing.done("!r", "$1");
    assert.deepEqual((await store.disappearing.due(5_000, 10)).map((e) => [e.eventId, e.attempts]), [["$2", 1]]);
    await store.disappearing.done("!r", "$2");
    assert.equal(await store.disappearing.nextDue(), undefined);
    await store.close();
  });
});
