// Why the bridge sends every event as one of its user's devices: Synapse keeps the transaction IDs of requests made
// as a device in its database, and those of an appservice user without a device only in memory. A retry after a
// homeserver restart (the first answer lost with it) posts a second copy in the second case. The fault suite saw
// exactly that in a plain portal; this test pins the homeserver behaviour the fix rests on (real Synapse, restarted).
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { MatrixClient } from "../../src/matrix/client.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";

describe("Synapse transaction IDs across a restart", function () {
  this.timeout(TEST_ENV_TIMEOUT_MS);
  let env: TestEnv;

  before(async function () {
    env = await getTestEnv();
    if (env.synapse.external) this.skip(); // an external Synapse is not ours to restart
  });

  it("a retry as a device finds the first event; a retry without one posts a second", async () => {
    const client = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token });
    const puppet = `@wa_49${Date.now() % 1e9}${randomInt(1000, 9999)}:${env.synapse.serverName}`;
    const intent = client.as(puppet);
    await intent.ensureRegistered();
    await intent.ensureDevice("TXNTEST", "txn test");
    const room = await intent.createRoom({ preset: "private_chat" });
    const asDevice = client.as(puppet, "TXNTEST");
    const content = { msgtype: "m.text", body: "once" };

    const withDevice = await asDevice.sendEvent(room, "m.room.message", content, "txn-with-device");
    const without = await intent.sendEvent(room, "m.room.message", content, "txn-without-device");
    // Before a restart both are deduplicated.
    assert.equal(await asDevice.sendEvent(room, "m.room.message", content, "txn-with-device"), withDevice);
    assert.equal(await intent.sendEvent(room, "m.room.message", content, "txn-without-device"), without);

    await env.synapse.restart();
    assert.equal(await asDevice.sendEvent(room, "m.room.message", content, "txn-with-device"), withDevice, "kept in the database");
    assert.notEqual(await intent.sendEvent(room, "m.room.message", content, "txn-without-device"), without, "forgotten with the process");
  });
});
