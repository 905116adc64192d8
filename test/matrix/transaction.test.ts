import assert from "node:assert/strict";
import type { MatrixEphemeralEvent, MatrixEvent } from "../../src/core/bridge.js";
import { InvalidTransactionError, parseTransaction } from "../../src/matrix/transaction.js";

const message = {
  event_id: "$abc",
  room_id: "!room:localhost",
  sender: "@alice:localhost",
  type: "m.room.message",
  origin_server_ts: 1700000000000,
  content: { msgtype: "m.text", body: "hi", "m.relates_to": { anything: [1, 2] } },
  unsigned: { age: 12 },
};

describe("appservice transaction parsing", () => {
  it("keeps valid events whole, including unknown fields and arbitrary content", async () => {
    const txn = parseTransaction({ events: [{ ...message, future_field: true }] });
    assert.equal(txn.events.length, 1);
    assert.deepEqual(txn.events[0], { ...message, future_field: true });
    assert.deepEqual(txn.rejected, []);
    assert.deepEqual(txn.ephemeral, []);
    assert.deepEqual(txn.toDevice, []);
    assert.deepEqual(txn.deviceLists, { changed: [], left: [] });
    assert.deepEqual(txn.oneTimeKeyCounts, {});
    assert.deepEqual(txn.unusedFallbackKeyTypes, {});
  });

  it("produces events the core takes as they are (this compiles only while no cast is needed)", async () => {
    const txn = parseTransaction({ events: [message], ephemeral: [{ type: "m.typing", room_id: message.room_id, content: { user_ids: [] } }] });
    const forCore: MatrixEvent[] = txn.events;
    const ephemeralForCore: MatrixEphemeralEvent[] = txn.ephemeral;
    assert.equal(forCore[0]?.event_id, message.event_id);
    assert.equal(ephemeralForCore[0]?.type, "m.typing");
  });

  it("reads the unstable keys Synapse sends", async () => {
    const txn = parseTransaction({
      events: [],
      "de.sorunome.msc2409.ephemeral": [{ type: "m.typing", room_id: "!room:localhost", content: { user_ids: ["@alice:localhost"] } }],
      "de.sorunome.msc2409.to_device": [
        { type: "m.room.encrypted", sender: "@alice:localhost", to_user_id: "@wa_1:localhost", to_device_id: "PUPPET", content: { ciphertext: {} } },
      ],
      "org.matrix.msc3202.device_lists": { changed: ["@alice:localhost"], left: ["@bob:localhost"] },
      "org.matrix.msc3202.device_one_time_key_counts": { "@wa_1:localhost": { PUPPET: { signed_curve25519: 3 } } },
      "org.matrix.msc3202.device_one_time_keys_count": { "@wa_1:localhost": { PUPPET: { signed_curve25519: 50 } } },
      "org.matrix.msc3202.device_unused_fallback_key_types": { "@wa_1:localhost": { PUPPET: ["signed_curve25519"] } },
    });
    assert.equal(txn.ephemeral[0]?.type, "m.typing");
    assert.equal(txn.toDevice[0]?.to_device_id, "PUPPET");
    assert.deepEqual(txn.deviceLists, { changed: ["@alice:localhost"], left: ["@bob:localhost"] });
    // The MSC's own spelling wins over Synapse's compatibility spelling.
    assert.deepEqual(txn.oneTimeKeyCounts, { "@wa_1:localhost": { PUPPET: { signed_curve25519: 50 } } });
    assert.deepEqual(txn.unusedFallbackKeyTypes, { "@wa_1:localhost": { PUPPET: ["signed_curve25519"] } });
  });

  it("prefers stable keys over unstable ones", async () => {
    const typing = { type: "m.typing", room_id: "!room:localhost", content: { user_ids: [] } };
    const receipt = { type: "m.receipt", room_id: "!room:localhost", content: {} };
    const txn = parseTransaction({ events: [], ephemeral: [receipt], "de.sorunome.msc2409.ephemeral": [typing] });
    assert.deepEqual(txn.ephemeral, [receipt]);
  });

  it("sets malformed items aside and keeps the rest", async () => {
    const txn = parseTransaction({
      events: [message, { ...message, event_id: "$bad", sender: "not-a-user" }, "garbage", { ...message, event_id: "$ok2" }],
      ephemeral: [{ type: "m.typing", content: "nope" }],
      "org.matrix.msc3202.device_lists": { changed: ["@alice:localhost", "bogus"] },
      "org.matrix.msc3202.device_one_time_keys_count": { bogus: {}, "@wa_1:localhost": { D: { alg: -1 } } },
    });
    assert.deepEqual(
      txn.events.map((e) => e.event_id),
      ["$abc", "$ok2"],
    );
    assert.deepEqual(
      txn.rejected.map((r) => [r.section, r.position, r.eventId]),
      [
        ["events", 1, "$bad"],
        ["events", 2, undefined],
        ["ephemeral", 0, undefined],
        ["device_lists", 1, undefined],
        ["device_one_time_keys_count", "bogus", undefined],
        ["device_one_time_keys_count", "@wa_1:localhost", undefined],
      ],
    );
    assert.match(txn.rejected[0]?.reason ?? "", /sender: not a valid user ID/);
    assert.deepEqual(txn.deviceLists.changed, ["@alice:localhost"]);
    assert.deepEqual(txn.oneTimeKeyCounts, {});
  });

  it("rejects bodies whose structure is unusable", async () => {
    assert.throws(() => parseTransaction(null), InvalidTransactionError);
    assert.throws(() => parseTransaction([]), InvalidTransactionError);
    assert.throws(() => parseTransaction({}), /"events" is required/);
    assert.throws(() => parseTransaction({ events: {} }), /"events" must be a list/);
    assert.throws(() => parseTransaction({ events: [], ephemeral: "x" }), /"ephemeral" must be a list/);
    assert.throws(() => parseTransaction({ events: [], "org.matrix.msc3202.device_lists": [] }), /must be an object/);
  });
});
