// The bridge end to end in encrypted rooms: a real E2EE Matrix client (matrix-js-sdk with Rust crypto) on the harness
// Synapse chats with simulated phone-number users through encrypted portals, across a restart and a SIGKILL.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";
import { RawCryptoDevice } from "../matrix/crypto-raw-device.js";
import type { BridgeProcess } from "./bridge-process.js";
import type { MatrixTestUser, SeenEvent as SeenEncryptedEvent } from "./matrix-user.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915212345678";
const BERT = "+4915233333333";
const CARLA = "+4915244444444";
const DORA = "+4915255555555";

type Received = { message?: { conversation?: string; extendedTextMessage?: { text?: string } } };
const textOf = (m: { content: unknown }) => (m.content as Received).message?.conversation ?? (m.content as Received).message?.extendedTextMessage?.text;

describe("bridge end to end in encrypted rooms (Synapse + gatekeeper + bridge process)", function () {
  this.timeout(120_000);
  let w: World;
  let env: TestEnv;
  let gk: GatekeeperProcess;
  let bridge: BridgeProcess;
  let alice: MatrixTestUser;
  let aliceUri: string;
  let bot: string;
  let annaRoom: string;
  let failed = false;
  const puppet = (e164: string) => w.puppet(e164);

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    // Encrypted portals (the bridge's default); events whose key never comes are reported after 12 s, not 10 minutes.
    w = await startWorld(
      "ealice",
      [{ phone: ANNA, name: "Anna", devices: 2 }, { phone: BERT, name: "Bert" }, { phone: CARLA, name: "Carla" }, { phone: DORA, name: "Dora" }],
      { bridge: { encryption: { default: true, allow: true, max_key_wait_seconds: 12 } } },
      undefined,
      true,
    );
    assert.equal(w.config.bridge.encryption.default, true);
    ({ env, gk, bridge, user: alice, userUri: aliceUri, bot } = w);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });

  after(async () => {
    if (failed && bridge) {
      writeFileSync(join(env.tmpDir, "..", "mdb-e2ee-bridge.log"), bridge.logs);
      console.error(`bridge log tail written to ${join(env.tmpDir, "..", "mdb-e2ee-bridge.log")}:\n${bridge.logs.slice(-4000)}`);
    }
    await w?.stop();
  });

  /** Every puppet message must come decrypted from a device the puppet owns and has cross-signed. */
  async function assertFromPuppetDevice(ev: SeenEncryptedEvent, e164: string): Promise<string> {
    assert.equal(ev.sender, puppet(e164));
    assert.equal(ev.encrypted, true, "the event was encrypted");
    assert.equal(ev.decryptionFailure, undefined);
    const device = await alice.senderDevice(ev);
    assert.ok(device, "the sending device is one of the puppet's devices");
    assert.equal(device.signedByOwner, true, "the puppet cross-signed its device");
    return device.deviceId;
  }

  it("talks to the bot in an encrypted management room and carries text both ways through an encrypted portal", async () => {
    const mgmt = await alice.createEncryptedDm(bot);
    const help = await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"), 30_000);
    assert.equal(help.encrypted, true, "the bot answers encrypted");
    await alice.waitForMember(mgmt, bot);
    await alice.sendText(mgmt, `start-chat ${ANNA}`);
    annaRoom = await alice.acceptInviteFrom(puppet(ANNA), 30_000);
    // Encrypted by default: waitForMember also waits until the client sees the room as encrypted.
    await alice.waitForMember(annaRoom, puppet(ANNA));

    await alice.sendText(annaRoom, "hello Anna");
    for (const device of [1, 2]) {
      const got = await gk.waitForMessage(ANNA, (m) => m.deviceId === device && textOf(m) === "hello Anna", 20_000);
      assert.equal(got.sender, aliceUri);
    }
    await gk.sendAs(ANNA, { to: aliceUri, text: "hi Alice" });
    const ev = await alice.waitForEvent("Anna's reply", (e) => e.roomId === annaRoom && e.content.body === "hi Alice");
    await assertFromPuppetDevice(ev, ANNA);
  });

  it("opens an encrypted portal for a first message from a phone number", async () => {
    await gk.sendAs(CARLA, { to: aliceUri, text: "Carla here" });
    const room = await alice.acceptInviteFrom(puppet(CARLA), 30_000);
    const ev = await alice.waitForEvent("Carla's first message", (e) => e.roomId === room && e.content.body === "Carla here", 30_000);
    await assertFromPuppetDevice(ev, CARLA);
  });

  it("keeps bridging when the user turns on encryption in an existing portal", async () => {
    const { room_id: room } = await alice.client.createRoom({ is_direct: true, invite: [puppet(BERT)], preset: "trusted_private_chat" as never });
    await alice.waitFor("the puppet to join", () => (alice.client.getRoom(room)?.getMember(puppet(BERT))?.membership === "join" ? true : undefined));
    await alice.sendText(room, "plain hello");
    await gk.waitForMessage(BERT, (m) => textOf(m) === "plain hello", 20_000);

    await alice.client.sendStateEvent(room, "m.room.encryption" as never, { algorithm: "m.megolm.v1.aes-sha2" } as never, "");
    await alice.waitForMember(room, puppet(BERT));
    const sentId = await alice.sendText(room, "now encrypted");
    await gk.waitForMessage(BERT, (m) => textOf(m) === "now encrypted", 20_000);
    const onServer = await alice.client.fetchRoomEvent(room, sentId);
    assert.equal(onServer.type, "m.room.encrypted", "the message reached the bridge encrypted");
    await gk.sendAs(BERT, { to: aliceUri, text: "encrypted reply" });
    const ev = await alice.waitForEvent("Bert's encrypted reply", (e) => e.roomId === room && e.content.body === "encrypted reply");
    await assertFromPuppetDevice(ev, BERT);
  });

  for (const how of ["restarted", "SIGKILLed"] as const) {
    it(`keeps its devices and delivers what was sent while it was ${how}`, async () => {
      const devicesBefore = await alice.deviceIds(puppet(ANNA));
      const botDevicesBefore = await alice.deviceIds(bot);
      await gk.sendAs(ANNA, { to: aliceUri, text: `before ${how}` });
      const before = await alice.waitForEvent(`a message before ${how}`, (e) => e.roomId === annaRoom && e.content.body === `before ${how}`);
      const deviceBefore = await assertFromPuppetDevice(before, ANNA);

      if (how === "restarted") await bridge.stop();
      else await bridge.kill();
      await alice.sendText(annaRoom, `to Anna while ${how}`);
      await gk.sendAs(ANNA, { to: aliceUri, text: `to Alice while ${how}` });
      await new Promise((r) => setTimeout(r, 500));
      await bridge.start();

      await gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && textOf(m) === `to Anna while ${how}`, 60_000);
      const after = await alice.waitForEvent(`the message sent while ${how}`, (e) => e.roomId === annaRoom && e.content.body === `to Alice while ${how}`, 60_000);
      assert.equal(await assertFromPuppetDevice(after, ANNA), deviceBefore, "the same device sends after the restart");
      assert.deepEqual(await alice.deviceIds(puppet(ANNA)), devicesBefore, "no new puppet device appeared");
      assert.deepEqual(await alice.deviceIds(bot), botDevicesBefore, "no new bot device appeared");
    });
  }

  it("decrypts the first message of a portal sent while the bridge was down", async () => {
    const mgmt = alice.events.find((e) => e.sender === bot)!.roomId;
    await alice.sendText(mgmt, `start-chat ${DORA}`);
    const room = await alice.acceptInviteFrom(puppet(DORA), 30_000);
    await alice.waitForMember(room, puppet(DORA));
    await bridge.stop();
    await alice.sendText(room, "first words while down");
    await bridge.start();
    await gk.waitForMessage(DORA, (m) => textOf(m) === "first words while down", 60_000);
  });

  it("delivers a message whose room key arrives after the event, before what was written after it", async () => {
    // A second device of the user, driven by hand, so the room key can be held back while the event goes out.
    const second = await RawCryptoDevice.login(env.synapse.url, alice.userId, alice.password);
    try {
      const { eventId, releaseKey } = await second.sendWithHeldBackKey(annaRoom, { msgtype: "m.text", body: "key comes late" });
      await new Promise((r) => setTimeout(r, 500));
      await alice.sendText(annaRoom, "written after it");
      // The bridge sees the event without its key: nothing may reach the phone yet, and the next one waits behind it.
      await new Promise((r) => setTimeout(r, 3000));
      const ours = async () => (await gk.received(ANNA)).filter((m) => m.deviceId === 1).map(textOf).filter((t) => t === "key comes late" || t === "written after it");
      assert.deepEqual(await ours(), [], "not deliverable before the key arrived, and the room's order holds");
      await releaseKey();
      await gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && textOf(m) === "written after it", 30_000);
      assert.deepEqual(await ours(), ["key comes late", "written after it"]);
      assert.ok(eventId.startsWith("$"));
    } finally {
      await second.logout();
    }
  });

  it("tells the sender which message was lost when its key never arrives", async () => {
    const second = await RawCryptoDevice.login(env.synapse.url, alice.userId, alice.password);
    try {
      const { eventId } = await second.sendWithHeldBackKey(annaRoom, { msgtype: "m.text", body: "key never comes" });
      const notice = await alice.waitForEvent(
        "the notice about the lost message",
        (e) => e.roomId === annaRoom && e.sender === puppet(ANNA) && String(e.content.body).includes("could not be decrypted"),
        45_000,
      );
      assert.equal((notice.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: string } } | undefined)?.["m.in_reply_to"]?.event_id, eventId, "the notice replies to the lost message");
      assert.ok(String(notice.content.body).includes(eventId), "the notice names the event");
      await assertFromPuppetDevice(notice, ANNA);
      assert.equal((await gk.received(ANNA)).some((m) => textOf(m) === "key never comes"), false);
    } finally {
      await second.logout();
    }
  });
});
