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
        await store.identityTrust.acknowledge(user, "tel:+4915112345678", 1, "aa", false);
        await store.requests.hold({ matrixUser: user, remoteUri: "tel:+4915199999999", senderDevice: 1, messageId: `R${i}`, timestamp: 1, content: new Uint8Array([1]), identityChanged: false }, 20, Date.now() + 60_000);
        await store.disappearing.setTimer(user, "tel:+4915112345678", { seconds: 60, setAt: 1 });
        await store.disappearing.schedule({ roomId: `!r${i}:x`, eventId: `$e${i}`, redactAs: "@p:x", expiresAt: 1 });
        await store.contacts.add(user, "tel:+4915112345678", "wrote");
        await store.excludedDevices.told(`!r${i}:x`, [{ userId: user, deviceId: "TABLET" }]);
        await store.limits.admit(user, "message", `M${i}`, 60, 60_000);
      }
      const count = async (sql: string, params: string[] = []) => Number((await store.db.get<{ n: number }>(sql, params))!.n);

      assert.equal(await new UserForgetting(store.db).forget("@alice:x"), "matrix:u/alice:x");
      assert.equal(await count("SELECT count(*) AS n FROM signal_local_devices WHERE uri = ?", ["matrix:u/alice:x"]), 0);
      assert.equal(await count("SELECT count(*) AS n FROM signal_prekeys"), await count("SELECT count(*) AS n FROM signal_prekeys p JOIN signal_local_devices d ON d.local_id = p.local_id WHERE d.uri = 'matrix:u/bob:x'"));
      for (const table of ["portals", "outbox", "inbox", "identity_trust", "message_requests", "message_request_items", "disappearing_timers", "user_contacts"]) {
        assert.equal(await count(`SELECT count(*) AS n FROM ${table} WHERE matrix_user = ?`, ["@alice:x"]), 0, table);
        assert.equal(await count(`SELECT count(*) AS n FROM ${table} WHERE matrix_user = ?`, ["@bob:x"]), 1, table);
      }
      assert.equal(await count("SELECT count(*) AS n FROM signal_local_devices WHERE uri = ?", ["matrix:u/bob:x"]), 1);
      assert.deepEqual(await store.db.all("SELECT room_id FROM disappearing_events"), [{ room_id: "!r1:x" }], "only Bob's room's schedule stays");
      assert.deepEqual(await store.db.all("SELECT room_id FROM excluded_devices_told"), [{ room_id: "!r1:x" }], "only Bob's room's excluded devices stay");
      assert.equal(await count("SELECT count(*) AS n FROM user_limit_events WHERE matrix_user = ?", ["@alice:x"]), 1, "logging out does not reset the flood limits");
      assert.equal((await store.users.get("@alice:x"))?.keysUploadedAt, null);
      assert.notEqual((await store.users.get("@bob:x"))?.keysUploadedAt, null);
      assert.equal(await new UserForgetting(store.db).forget("@nobody:x"), undefined);
    } finally {
      await store.close();
    }
  });
});
