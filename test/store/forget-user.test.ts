// Forgetting a user's network side over a real SQLite store: the Signal identity and everything keyed by the user go,
// other users' rows stay, and the user's row remains without uploaded keys.
import assert from "node:assert/strict";
import { ensureLocalIdentity } from "../../src/protocol/signal/identity.js";
import { UserForgetting } from "../../src/store/forget-user.js";
import { BridgeStore } from "../../src/store/store.js";

describe("UserForgetting", () => {
  it("removes one user's identity, queues, map and portals, and nothing of anyone else", async () => {
    const store = await BridgeStore.open(":memory:");
    try {
      const users = ["@alice:x", "@bob:x"];
      for (const [i, user] of users.entries()) {
        const uri = `matrix:u/${user.slice(1)}`;
        await store.users.ensure(user, uri);
        await store.users.markKeysUploaded(user);
        await ensureLocalIdentity(store.db, uri, { deviceId: 1 });
        await store.portals.upsert({ matrixUser: user, remoteUri: "tel:+4915112345678", roomId: `!r${i}:x`, encrypted: true });
        await store.outbox.add({ matrixUser: user, remoteUri: "tel:+4915112345678", messageId: `M${i}`, content: new Uint8Array([1]) });
        await store.inbox.addOnce({ matrixUser: user, remoteUri: "tel:+4915112345678", senderDevice: 1, messageId: `I${i}`, timestamp: 1, content: new Uint8Array([1]), identityChanged: false });
      }
      const count = async (sql: string, params: string[] = []) => Number((await store.db.get<{ n: number }>(sql, params))!.n);

      assert.equal(await new UserForgetting(store.db).forget("@alice:x"), "matrix:u/alice:x");
      assert.equal(await count("SELECT count(*) AS n FROM signal_local_devices WHERE uri = ?", ["matrix:u/alice:x"]), 0);
      assert.equal(await count("SELECT count(*) AS n FROM signal_prekeys"), await count("SELECT count(*) AS n FROM signal_prekeys p JOIN signal_local_devices d ON d.local_id = p.local_id WHERE d.uri = 'matrix:u/bob:x'"));
      for (const table of ["portals", "outbox", "inbox"]) {
        assert.equal(await count(`SELECT count(*) AS n FROM ${table} WHERE matrix_user = ?`, ["@alice:x"]), 0, table);
        assert.equal(await count(`SELECT count(*) AS n FROM ${table} WHERE matrix_user = ?`, ["@bob:x"]), 1, table);
      }
      assert.equal(await count("SELECT count(*) AS n FROM signal_local_devices WHERE uri = ?", ["matrix:u/bob:x"]), 1);
      assert.equal((await store.users.get("@alice:x"))?.keysUploadedAt, null);
      assert.notEqual((await store.users.get("@bob:x"))?.keysUploadedAt, null);
      assert.equal(await new UserForgetting(store.db).forget("@nobody:x"), undefined);
    } finally {
      await store.close();
    }
  });
});
