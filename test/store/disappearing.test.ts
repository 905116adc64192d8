// The disappearing-messages schedule survives a restart: what was scheduled is due after the store is reopened, on
// SQLite and on PostgreSQL.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BridgeStore } from "../../src/store/store.js";
import { createTestDatabase, needPostgres } from "../harness/postgres.js";

/** Where a store lives, for each engine: a file, or a database on a throwaway server. */
const targets: { name: string; make(dir: string): Promise<string> }[] = [
  { name: "sqlite", make: async (dir) => join(dir, "bridge.db") },
  {
    name: "postgres",
    make: () => createTestDatabase(),
  },
];

for (const target of targets) {
  describe(`store: disappearing messages (${target.name})`, function () {
    this.timeout(60_000);
    let dir: string;
    before(async function () {
      if (target.name === "postgres") await needPostgres(this, "the PostgreSQL disappearing store tests");
    });
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "mdb-disappearing-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("keeps timers and scheduled redactions across a reopen; rescheduling keeps the earlier time", async () => {
      const where = await target.make(dir);
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
}
