// Bridge-side flood limits per Matrix user, end to end: the harness Synapse, the reference gatekeeper (its own
// per-sender limits out of reach) and the bridge as a process with bridge.limits set low. Messages over the limit
// are held in the outbox with one notice, survive a restart without a fresh window, and go out when the minute
// allows; a new chat over the limit is refused with a notice. Per remote sender: envelopes over a sender's messages
// per minute or new chats per hour, or over what its open message request may hold, are refused back to the sender
// (the gatekeeper records RATE_LIMITED), before the bridge decrypts them.
import assert from "node:assert/strict";
import { withBridgeDatabase } from "../support/test-database.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { MatrixTestUser } from "./matrix-user.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";
const BERT = "+4915133333333";
const FLO = "+4915166666666";
const conversation = (m: { content: unknown }) => (m.content as { message?: { conversation?: string } }).message?.conversation;

describe("bridge end to end: flood limits per Matrix user", function () {
  this.timeout(150_000);
  let w: World;
  let mgmt: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("limits", [{ phone: ANNA, name: "Anna" }, { phone: BERT, name: "Bert" }, { phone: FLO, name: "Flo" }], {
      bridge: { limits: { messages_per_minute: 3, new_portals_per_hour: 2, messages_over_limit: "hold" } },
    });
    mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  const received = async (phone: string, prefix: string) => (await w.gk.received(phone)).map(conversation).filter((t) => String(t).startsWith(prefix));
  const waitingInOutbox = async () =>
    Number((await withBridgeDatabase(w.config, (db) => db.get<{ n: unknown }>("SELECT count(*) AS n FROM outbox WHERE event_id IS NOT NULL")))?.n);

  it("refuses a third new chat in the hour with a notice, and reopening a chat is not a new one", async () => {
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    await w.user.acceptInviteFrom(w.puppet(ANNA));
    await w.user.sendText(mgmt, `start-chat ${BERT}`);
    await w.user.acceptInviteFrom(w.puppet(BERT));
    await w.user.sendText(mgmt, `start-chat ${FLO}`);
    const refusal = await w.user.waitForEvent("the refusal", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("new chats in the last hour"));
    assert.match(String(refusal.content.body), /You opened 2 new chats in the last hour.*next one in about (60|59) minutes/);
    assert.equal(w.user.events.some((e) => e.type === "m.room.member" && e.sender === w.puppet(FLO)), false, "no room for Flo");
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    await w.user.waitForEvent("Anna's chat again", (e) => e.roomId === mgmt && String(e.content.body).startsWith("Chat with +49 1511 2345678 is ready"));
  });

  it("holds messages over the limit with one notice, keeps the window across a restart, and sends them in order when it allows", async () => {
    const room = (await w.user.client.getRooms()).find((r) => r.getMember(w.puppet(ANNA)) && r.getMyMembership() === "join")!.roomId;
    const started = Date.now();
    for (let i = 0; i < 5; i++) await w.user.sendText(room, `burst ${i}`);
    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "burst 2", 20_000);
    const notice = await w.user.waitForEvent("the held notice", (e) => e.roomId === room && String(e.content.body).startsWith("⏳ Not sent yet: this bridge lets you send 3 messages a minute"));
    assert.equal(notice.sender, w.puppet(ANNA));
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(await received(ANNA, "burst"), ["burst 0", "burst 1", "burst 2"]);
    assert.equal(await waitingInOutbox(), 2, "the rest waits in the outbox");

    await w.bridge.stop();
    await w.bridge.start();
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await received(ANNA, "burst"), ["burst 0", "burst 1", "burst 2"], "a restart is no fresh minute");

    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "burst 4", 90_000);
    assert.ok(Date.now() - started >= 55_000, "not before the minute was over");
    assert.deepEqual(await received(ANNA, "burst"), ["burst 0", "burst 1", "burst 2", "burst 3", "burst 4"], "all of them, in order, none twice");
    // The gatekeeper has the last message a moment before the bridge commits its outbox row as done.
    for (let i = 0; i < 50 && (await waitingInOutbox()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await waitingInOutbox(), 0);
    const held = w.user.events.filter((e) => e.roomId === room && String(e.content.body).startsWith("⏳ Not sent yet"));
    assert.equal(held.length, 1, "one notice while held, also across the restart (the same held message, the same transaction ID)");
  });
});

describe("bridge end to end: flood limits per remote sender", function () {
  this.timeout(150_000);
  let w: World;
  let other: MatrixTestUser;
  let otherUri: string;
  let otherMgmt: string;
  let failed = false;

  const managementRoom = async (user: MatrixTestUser) => {
    const room = await user.createDm(w.bot);
    await user.waitForEvent("the bot's help", (e) => e.roomId === room && e.sender === w.bot && String(e.content.body).includes("start-chat"));
    return room;
  };
  const refusal = (phone: string, messageId: string) =>
    w.user.waitFor(`the refusal of ${messageId}`, async () => (await w.gk.refusals(phone)).find((r) => r.messageId.toUpperCase() === messageId.toUpperCase())?.code);
  const refusedIds = async (phone: string) => new Set((await w.gk.refusals(phone)).map((r) => r.messageId.toUpperCase()));

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("senderlimits", [{ phone: ANNA, name: "Anna" }, { phone: BERT, name: "Bert" }, { phone: FLO, name: "Flo" }], {
      bridge: { limits: { sender_messages_per_minute: 4, sender_new_chats_per_hour: 1 }, message_request_max_held: 2 },
    });
    await managementRoom(w.user);
    other = await MatrixTestUser.create(w.env.synapse, `senderlimits-other${Date.now() % 1_000_000}`);
    otherUri = `matrix:u/${other.userId.slice(1)}`;
    otherMgmt = await managementRoom(other);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    other?.stop();
    await w?.stop();
  });

  it("takes a sender's first four envelopes in a minute and refuses the rest back to it as rate limited", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await w.gk.sendAs(ANNA, { to: w.userUri, text: `flood ${i}` }));
    assert.equal(await refusal(ANNA, ids[5]!), "RATE_LIMITED");
    assert.equal(await refusal(ANNA, ids[4]!), "RATE_LIMITED");
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    await w.user.waitForEvent("the fourth", (e) => e.roomId === room && e.content.body === "flood 3");
    await new Promise((r) => setTimeout(r, 1000));
    const shown = w.user.events.filter((e) => e.roomId === room && String(e.content.body).startsWith("flood ")).map((e) => e.content.body);
    assert.deepEqual(shown, ["flood 0", "flood 1", "flood 2", "flood 3"], "the taken ones, in order, and none of the refused");
    const refused = await refusedIds(ANNA);
    assert.deepEqual(ids.map((id) => refused.has(id.toUpperCase())), [false, false, false, false, true, true]);
  });

  it("refuses a sender's second new chat in the hour, also after a restart, while its first chat goes on", async () => {
    const first = await w.gk.sendAs(BERT, { to: w.userUri, text: "hello first user" });
    const room = await w.user.acceptInviteFrom(w.puppet(BERT));
    await w.user.waitForEvent("Bert's message", (e) => e.roomId === room && e.content.body === "hello first user");
    const second = await w.gk.sendAs(BERT, { to: otherUri, text: "hello second user" });
    assert.equal(await refusal(BERT, second), "RATE_LIMITED");
    assert.equal((await refusedIds(BERT)).has(first.toUpperCase()), false);

    await w.bridge.stop();
    await w.bridge.start();
    const again = await w.gk.sendAs(BERT, { to: otherUri, text: "hello again" });
    assert.equal(await refusal(BERT, again), "RATE_LIMITED", "the hour's count is stored, not reset by a restart");
    await w.gk.sendAs(BERT, { to: w.userUri, text: "still chatting" });
    await w.user.waitForEvent("Bert's chat goes on", (e) => e.roomId === room && e.content.body === "still chatting");
    assert.equal(other.events.some((e) => e.sender === w.puppet(BERT)), false, "nothing of Bert reached the second user");
  });

  it("refuses what a stranger sends beyond what its message request may hold (requests on for one user)", async () => {
    await other.sendText(otherMgmt, "requests on");
    await other.waitForEvent("the switch", (e) => e.roomId === otherMgmt && e.sender === w.bot && String(e.content.body).startsWith("Message requests are on"));
    const held = async () => Number((await withBridgeDatabase(w.config, (db) => db.get<{ n: unknown }>("SELECT count(*) AS n FROM message_request_items")))?.n);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      ids.push(await w.gk.sendAs(FLO, { to: otherUri, text: `request ${i}` }));
      await other.waitFor(`${i + 1} held`, async () => ((await held()) === i + 1 ? true : undefined));
    }
    await other.waitForEvent("the request", (e) => e.roomId === otherMgmt && e.sender === w.bot && String(e.content.body).includes("request 0"));
    const third = await w.gk.sendAs(FLO, { to: otherUri, text: "request 2" });
    assert.equal(await refusal(FLO, third), "RATE_LIMITED");
    assert.equal(await held(), 2);
    const refused = await refusedIds(FLO);
    assert.deepEqual(ids.map((id) => refused.has(id.toUpperCase())), [false, false]);
  });
});
