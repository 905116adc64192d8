// Message requests end to end: a first message from a number the Matrix user never chatted with waits in the
// management room (no portal, no invite) until the user accepts (the portal opens with the held messages, in order,
// also across a bridge restart), blocks (the gatekeeper refuses the number from then on) or ignores it; a request
// expires.
import assert from "node:assert/strict";
import { AdminApiError } from "../../src/gatekeeper/process.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";
const BERT = "+4915133333333";
const CARLA = "+4915144444444";

async function managementRoom(w: World): Promise<string> {
  const mgmt = await w.user.createDm(w.bot);
  await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
  return mgmt;
}

describe("bridge end to end: message requests", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("requests", [
      { phone: ANNA, name: "Anna" },
      { phone: BERT, name: "Bert" },
      { phone: CARLA, name: "Carla" },
    ], { bridge: { message_requests: "on" } });
    mgmt = await managementRoom(w);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  const requestNotice = (who: string) =>
    w.user.waitForEvent(`the request from ${who}`, (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).startsWith(`📨 Message request from ${who}`), 30_000);

  it("holds a stranger's messages in the management room, and accepting opens the chat with them in order, across a restart", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "Hi! Claim your prize at https://prize.example.com/now" });
    const notice = await requestNotice("+49 1511 2345678");
    assert.match(String(notice.content.body), /\("Anna" in the WhatsApp directory\), who was not in your chats before/);
    assert.match(String(notice.content.body), /hxxps\[:\/\/\]prize\[\.\]example\[\.\]com\/now/);
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "are you there?" });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(w.user.events.some((e) => e.sender === w.puppet(ANNA)), false, "no portal, no invite");
    assert.equal(w.user.events.filter((e) => String(e.content.body).startsWith("📨 Message request from +49 1511")).length, 1, "one notice per request");

    await w.bridge.stop();
    await w.bridge.start();
    await w.user.sendText(mgmt, `accept ${ANNA}`);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA), 30_000);
    await w.user.waitForEvent("the second held message", (e) => e.roomId === room && e.content.body === "are you there?", 30_000);
    const texts = w.user.messagesIn(room, w.puppet(ANNA)).filter((e) => e.content.msgtype === "m.text").map((e) => e.content.body);
    assert.deepEqual(texts, ["Hi! Claim your prize at https://prize.example.com/now", "are you there?"], "in order, each once");
    await w.user.waitForEvent("the confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("✅ You accepted +49 1511 2345678"));
  });

  it("a 🚫 reaction on the request blocks the number at the gatekeeper", async () => {
    await w.gk.sendAs(BERT, { to: w.userUri, text: "cheap loans" });
    const notice = await requestNotice("+49 1513 3333333");
    await w.user.send(mgmt, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: notice.eventId, key: "🚫" } });
    await w.user.waitForEvent("the block confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("🚫 You blocked +49 1513 3333333"));
    assert.deepEqual((await w.gk.providerUserBlocks(w.userUri)).blocked, [`tel:${BERT}`]);
    const refused = await w.gk.sendAs(BERT, { to: w.userUri, text: "hello?" }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(refused instanceof AdminApiError && refused.errcode === "BLOCKED", String(refused));
    assert.equal(w.user.events.some((e) => e.sender === w.puppet(BERT)), false);
  });

  it("ignoring drops the request; the next message is a new request", async () => {
    await w.gk.sendAs(CARLA, { to: w.userUri, text: "hey" });
    await requestNotice("+49 1514 4444444");
    await w.user.sendText(mgmt, `ignore ${CARLA}`);
    await w.user.waitForEvent("the confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("🗑️ The request from +49 1514 4444444 is dropped"));
    await w.gk.sendAs(CARLA, { to: w.userUri, text: "hey again" });
    await w.user.waitFor("a second request", () =>
      w.user.events.filter((e) => e.roomId === mgmt && String(e.content.body).startsWith("📨 Message request from +49 1514")).length === 2 ? true : undefined,
    );
    assert.equal(w.user.events.some((e) => e.sender === w.puppet(CARLA)), false);
  });

  it("a ✅ reaction on the request accepts it: the chat opens with the held message", async () => {
    const notices = w.user.events.filter((e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).startsWith("📨 Message request from +49 1514"));
    await w.user.send(mgmt, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: notices.at(-1)!.eventId, key: "✅" } });
    const room = await w.user.acceptInviteFrom(w.puppet(CARLA), 30_000);
    await w.user.waitForEvent("the held message", (e) => e.roomId === room && e.content.body === "hey again", 30_000);
    assert.equal(w.user.messagesIn(room, w.puppet(CARLA)).filter((e) => e.content.msgtype === "m.text").length, 1, "only what the open request held");
    await w.user.waitForEvent("the confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("✅ You accepted +49 1514 4444444"));
  });
});

describe("bridge end to end: a message request expires", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    // Requests last 3.6 seconds here.
    w = await startWorld("expiry", [{ phone: ANNA, name: "Anna" }], { bridge: { message_requests: "on", message_request_expiry_hours: 0.001 } });
    mgmt = await managementRoom(w);
  });
  after(async () => {
    await w?.stop();
  });

  it("is closed after its time, also when the bridge was down then, and the user is told", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "anyone?" });
    await w.user.waitForEvent("the request", (e) => e.roomId === mgmt && String(e.content.body).startsWith("📨 Message request from +49 1511 2345678"));
    await w.bridge.stop();
    await new Promise((r) => setTimeout(r, 4_000));
    await w.bridge.start();
    await w.user.waitForEvent("the expiry", (e) => e.roomId === mgmt && e.content.body === "⌛ The message request from +49 1511 2345678 expired; its message was dropped.", 30_000);
    await w.user.sendText(mgmt, `accept ${ANNA}`);
    await w.user.waitForEvent("no request any more", (e) => e.roomId === mgmt && e.content.body === "There is no message request from +49 1511 2345678.");
  });
});
