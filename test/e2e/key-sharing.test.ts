// bridge.encryption.share_keys_with: cross_signed, end to end: a Matrix user (matrix-js-sdk with Rust crypto) with
// one device they cross-signed and one they did not. The bridge's puppets share Megolm room keys with the signed one
// only: it reads the bridged messages, the unsigned one cannot, and the portal names the unsigned device once.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { MatrixTestUser } from "./matrix-user.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915212345678";

describe("bridge end to end: room keys only for cross-signed devices", function () {
  this.timeout(120_000);
  let w: World;
  let unsigned: MatrixTestUser;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("keyshare", [{ phone: ANNA, name: "Anna" }], { bridge: { encryption: { default: true, allow: true, share_keys_with: "cross_signed" } } }, undefined, true);
    await w.user.bootstrapCrossSigning();
    unsigned = await MatrixTestUser.login(w.env.synapse, w.user.userId, w.user.password, { crypto: true, deviceName: "Unsigned tablet" });
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    unsigned?.stop();
    await w?.stop();
  });

  it("gives the puppet's room keys to the cross-signed device only, and names the other one once in the portal", async () => {
    const crypto = w.user.client.getCrypto()!;
    await w.user.waitFor("the second device in the first one's view", async () => ((await w.user.deviceIds(w.user.userId)).includes(unsigned.deviceId) ? true : undefined));
    assert.equal((await crypto.getDeviceVerificationStatus(w.user.userId, w.user.deviceId))?.signedByOwner, true, "the first device is cross-signed");
    assert.equal((await crypto.getDeviceVerificationStatus(w.user.userId, unsigned.deviceId))?.signedByOwner, false, "the second one is not");

    const mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"), 30_000);
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA), 30_000);
    await w.user.waitForMember(room, w.puppet(ANNA));

    await w.gk.sendAs(ANNA, { to: w.userUri, text: "for your verified devices" });
    const message = await w.user.waitForEvent("Anna's message on the signed device", (e) => e.roomId === room && e.content.body === "for your verified devices", 30_000);
    assert.equal(message.encrypted, true);
    const notice = await w.user.waitForEvent("the notice naming the unsigned device", (e) => e.roomId === room && /gets? no keys/.test(String(e.content.body)), 30_000);
    assert.equal(notice.sender, w.puppet(ANNA));
    assert.match(String(notice.content.body), new RegExp(`"Unsigned tablet" \\(${unsigned.deviceId}\\)`));
    assert.equal(String(notice.content.body).includes(w.user.deviceId), false, "the signed device is not named");

    // The unsigned device sees the puppet's events in the room, and can read none of them.
    const onUnsigned = await unsigned.waitFor("the puppet's events on the unsigned device", () => {
      const seen = unsigned.events.filter((e) => e.roomId === room && e.sender === w.puppet(ANNA) && e.encrypted);
      return seen.length >= 2 && seen.every((e) => e.decryptionFailure !== undefined) ? seen : undefined;
    }, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(unsigned.events.some((e) => e.content.body === "for your verified devices"), false, "never decrypted there");
    assert.ok(onUnsigned.every((e) => e.decryptionFailure !== undefined));

    await w.gk.sendAs(ANNA, { to: w.userUri, text: "and once more" });
    await w.user.waitForEvent("the second message", (e) => e.roomId === room && e.content.body === "and once more", 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(w.user.events.filter((e) => e.roomId === room && /gets? no keys/.test(String(e.content.body))).length, 1, "named once");
  });
});
