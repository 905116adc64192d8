// Disappearing messages through the real bridge, both ways, in a plain and an encrypted portal: timer changes
// become room state and notices (and the other way WhatsApp's EPHEMERAL_SETTING), messages arrive, and both sides'
// messages are redacted on the Matrix side when their time is up.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112340021";
const TIMER_STATE = "com.beeper.disappearing_timer";

type Json = Record<string, any>;

for (const encrypted of [false, true]) describe(`bridge end to end: disappearing messages (${encrypted ? "encrypted" : "plain"} portal)`, function () {
  this.timeout(90_000);
  let w: World;
  let room: string;
  let failed = false;
  const annaGot = async (pred: (c: Json) => boolean, what: string) =>
    (await w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && pred(m.content as Json), 20_000).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    })).content as Json;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const bridge = encrypted ? { encryption: { default: true, allow: true } } : {};
    w = await startWorld("dis", [{ phone: ANNA, name: "Anna" }], { bridge }, undefined, encrypted);
    room = await w.user.createDm(w.puppet(ANNA), { encrypted });
    await w.user.waitFor("the puppet to join", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "join" ? true : undefined));
    await w.user.sendText(room, "hi");
    await annaGot((c) => c.message?.conversation === "hi", "the first message");
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  it("the contact's timer becomes the room's state with a notice; her messages arrive and are redacted on time", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, disappearing: 4 });
    const state = await w.user.waitForEvent("the timer state", (e) => e.roomId === room && e.type === TIMER_STATE);
    assert.equal(state.sender, w.puppet(ANNA));
    assert.deepEqual(state.content, { type: "after_send", timer: 4000 });
    await w.user.waitForEvent("the timer notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && /turned on disappearing messages: new messages disappear 4 seconds/.test(String(e.content.body)));

    const sentAt = Date.now();
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "this will vanish", expiresIn: 4 });
    const msg = await w.user.waitForEvent("the disappearing message", (e) => e.roomId === room && e.content.body === "this will vanish");
    assert.equal(msg.encrypted, encrypted);
    const redaction = await w.user.waitForEvent("its redaction", (e) => e.type === "m.room.redaction" && e.redacts === msg.eventId, 15_000);
    const after = Date.now() - sentAt;
    assert.equal(redaction.sender, w.puppet(ANNA));
    assert.ok(after >= 3_500, `redacted after ${after} ms, before its 4 s were up`);
    assert.ok(after <= 9_000, `redacted only after ${after} ms`);
  });

  it("the Matrix user's timer state reaches WhatsApp; her messages go out wrapped and disappear on Matrix too", async () => {
    await w.user.client.sendStateEvent(room, TIMER_STATE as never, { type: "after_send", timer: 3000 } as never, "");
    const setting = await annaGot((c) => c.message?.protocolMessage?.type === "EPHEMERAL_SETTING" && c.message.protocolMessage.ephemeralExpiration === 3, "the timer change");
    assert.equal(setting.message.protocolMessage.key, undefined);

    const sentAt = Date.now();
    const eventId = await w.user.sendText(room, "gone in three");
    const got = await annaGot((c) => c.message?.ephemeralMessage?.message?.extendedTextMessage?.text === "gone in three", "the wrapped message");
    assert.equal(got.message.ephemeralMessage.message.extendedTextMessage.contextInfo.expiration, 3);
    await w.user.waitForEvent("the redaction of her own message", (e) => e.type === "m.room.redaction" && e.redacts === eventId, 15_000);
    assert.ok(Date.now() - sentAt >= 2_500, "not before its time");
  });

  it("the portal command turns disappearing messages off, for both sides, and is not sent as text", async () => {
    await w.user.sendText(room, "!wa disappearing off");
    const off = await annaGot((c) => c.message?.protocolMessage?.type === "EPHEMERAL_SETTING" && !c.message.protocolMessage.ephemeralExpiration, "the timer turned off");
    assert.ok(off);
    const state = await w.user.waitForEvent("the state turned off", (e) => e.roomId === room && e.type === TIMER_STATE && Object.keys(e.content).length === 0);
    assert.equal(state.sender, w.puppet(ANNA));
    await w.user.waitForEvent("the notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && e.content.body === "⏱ You turned off disappearing messages.");
    await w.user.sendText(room, "plain again");
    const plain = await annaGot((c) => c.message?.conversation === "plain again" || c.message?.ephemeralMessage?.message?.extendedTextMessage?.text === "plain again", "the next message");
    assert.equal(plain.message.conversation, "plain again", "no longer wrapped");
    const received = await w.gk.received(ANNA);
    assert.ok(!received.some((m) => JSON.stringify(m.content).includes("!wa disappearing")), "the command never reached WhatsApp");
  });
});
