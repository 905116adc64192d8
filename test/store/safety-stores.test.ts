// The trust-and-safety store modules on both engines: what a user was told about and verified of a contact's
// identities, and message requests (hold with a cap, the notice, expiry, the user's own switch).
import assert from "node:assert/strict";
import { BridgeStore } from "../../src/store/store.js";
import { describeOnBothEngines } from "./on-both-engines.js";

const ALICE = "@alice:example.org";
const ANNA = "tel:+4915112345678";

describeOnBothEngines("safety stores", (engine) => {
  let s: BridgeStore;
  beforeEach(async () => {
    s = await BridgeStore.open(await engine.location());
  });
  afterEach(async () => s.close());

  it("keeps what the user was told and verified per device; verifying clears what waits for it", async () => {
    await s.identityTrust.acknowledge(ALICE, ANNA, 1, "aa", false, 1000);
    await s.identityTrust.acknowledge(ALICE, ANNA, 2, "bb", false, 1000);
    await s.identityTrust.verify(ALICE, ANNA, [{ device: 1, identityHash: "aa" }], [1], 2000);
    assert.deepEqual(await s.identityTrust.forContact(ALICE, ANNA), [{ device: 1, identityHash: "aa", announcedAt: 1000, verifiedAt: 2000, reverifyNeeded: false }], "device 2 is gone");
    await s.identityTrust.acknowledge(ALICE, ANNA, 1, "cc", true, 3000);
    assert.deepEqual(await s.identityTrust.forContact(ALICE, ANNA), [{ device: 1, identityHash: "cc", announcedAt: 3000, verifiedAt: null, reverifyNeeded: true }]);
    await s.identityTrust.verify(ALICE, ANNA, [{ device: 1, identityHash: "cc" }], [1], 4000);
    assert.equal((await s.identityTrust.forContact(ALICE, ANNA))[0]?.reverifyNeeded, false);
  });

  it("holds messages of a request up to the cap, in order, and forgets them with it", async () => {
    const msg = (id: string) => ({ matrixUser: ALICE, remoteUri: ANNA, senderDevice: 1, messageId: id, timestamp: 5, content: new Uint8Array([1, 2]), identityChanged: false });
    assert.equal(await s.requests.hold(msg("A"), 2, 10_000, 1000), "opened");
    assert.equal(await s.requests.hold(msg("A"), 2, 10_000, 1000), "duplicate");
    assert.equal(await s.requests.hold(msg("B"), 2, 10_000, 1000), "held");
    assert.equal(await s.requests.hold(msg("C"), 2, 10_000, 1000), "over_cap");
    await s.requests.setNotice(ALICE, ANNA, "$notice");
    const request = await s.requests.byNotice("$notice");
    assert.deepEqual(
      { held: request?.held, overCap: request?.overCap, firstAt: request?.firstAt, expiresAt: request?.expiresAt },
      { held: 2, overCap: 1, firstAt: 1000, expiresAt: 10_000 },
    );
    const held = await s.requests.messages(ALICE, ANNA);
    assert.deepEqual(held.map((m) => [m.messageId, [...m.content]]), [["A", [1, 2]], ["B", [1, 2]]]);
    await s.requests.removeMessage(held[0]!.seq);
    assert.deepEqual((await s.requests.messages(ALICE, ANNA)).map((m) => m.messageId), ["B"]);
    assert.deepEqual(await s.requests.expired(9_999), []);
    assert.equal((await s.requests.expired(10_000)).length, 1);
    await s.requests.remove(ALICE, ANNA);
    assert.equal(await s.requests.get(ALICE, ANNA), undefined);
    assert.deepEqual(await s.requests.messages(ALICE, ANNA), []);
  });

  it("keeps a user's own switch for requests", async () => {
    assert.equal(await s.requests.enabledFor(ALICE), undefined);
    await s.requests.setEnabledFor(ALICE, false);
    assert.equal(await s.requests.enabledFor(ALICE), false);
    await s.requests.setEnabledFor(ALICE, true);
    assert.equal(await s.requests.enabledFor(ALICE), true);
  });

  it("counts a user's messages in a sliding window, once per message, and says when the next one fits", async () => {
    const limit = 3;
    const minute = 60_000;
    for (const [ref, at] of [["m1", 1000], ["m2", 2000], ["m3", 3000]] as const) {
      assert.deepEqual(await s.limits.admit(ALICE, "message", ref, limit, minute, at), { ok: true });
    }
    assert.deepEqual(await s.limits.admit(ALICE, "message", "m4", limit, minute, 4000), { ok: false, retryAfterMs: 1000 + minute - 4000, count: 3 });
    assert.deepEqual(await s.limits.admit(ALICE, "message", "m2", limit, minute, 4000), { ok: true }, "a retried send is not counted twice");
    assert.deepEqual(await s.limits.admit(ALICE, "portal", ANNA, limit, minute, 4000), { ok: true }, "kinds count apart");
    assert.deepEqual(await s.limits.admit("@bob:example.org", "message", "m4", limit, minute, 4000), { ok: true }, "users count apart");
    assert.deepEqual(await s.limits.admit(ALICE, "message", "m4", limit, minute, 1000 + minute), { ok: true }, "the oldest left the window");
    assert.equal(await s.limits.count(ALICE, "message", minute, 1000 + minute), 3);
  });

  it("keeps contacts, the user's space and reachability, and which rooms were told about excluded devices", async () => {
    await s.users.ensure(ALICE, "matrix:u/alice:example.org");
    assert.deepEqual(await s.users.get(ALICE).then((u) => [u?.spaceRoom, u?.spaceDeclined, u?.reachable]), [null, false, null]);
    await s.users.setSpace(ALICE, "!space:example.org");
    await s.users.setReachable(ALICE, "contacts");
    assert.equal((await s.users.bySpace("!space:example.org"))?.userId, ALICE);
    assert.equal((await s.users.get(ALICE))?.reachable, "contacts");
    await s.users.setSpace(ALICE, null, true);
    assert.deepEqual(await s.users.get(ALICE).then((u) => [u?.spaceRoom, u?.spaceDeclined]), [null, true]);

    assert.equal(await s.contacts.has(ALICE, ANNA), false);
    await s.contacts.add(ALICE, ANNA, "accepted", 1000);
    await s.contacts.add(ALICE, ANNA, "wrote", 2000);
    assert.equal(await s.contacts.has(ALICE, ANNA), true);
    assert.equal(await s.contacts.has("@bob:example.org", ANNA), false);

    const devices = [{ userId: ALICE, deviceId: "PHONE" }, { userId: ALICE, deviceId: "TABLET" }];
    assert.deepEqual(await s.excludedDevices.untold("!portal:example.org", devices), devices);
    await s.excludedDevices.told("!portal:example.org", [devices[1]!]);
    await s.excludedDevices.told("!portal:example.org", [devices[1]!]);
    assert.deepEqual(await s.excludedDevices.untold("!portal:example.org", devices), [devices[0]]);
    assert.deepEqual(await s.excludedDevices.untold("!other:example.org", devices), devices, "per room");
  });
});
