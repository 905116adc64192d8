// Bridge-side flood limits per Matrix user, end to end: the harness Synapse, the reference gatekeeper (its own
// per-sender limits out of reach) and the bridge as a process with bridge.limits set low. Messages over the limit
// are held in the outbox with one notice, survive a restart without a fresh window, and go out when the minute
// allows; a new chat over the limit is refused with a notice.
import assert from "node:assert/strict";
import { withBridgeDatabase } from "../support/test-database.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
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
