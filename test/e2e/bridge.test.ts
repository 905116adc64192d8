// The bridge end to end: a matrix-js-sdk user on the harness Synapse chats with simulated phone-number users of a
// real reference gatekeeper, through the real bridge process.
import { withBridgeDatabase } from "../support/test-database.js";
import assert from "node:assert/strict";
import type { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import type { BridgeProcess } from "./bridge-process.js";
import { MatrixTestUser as MatrixTestUserClass, type MatrixTestUser, type SeenEvent } from "./matrix-user.js";
import { PIXEL_PNG, startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";
const BERT = "+4915133333333";
const CARLA = "+4915144444444";
const DORA = "+4915155555555"; // has not opted in to third-party chats
const puppet = (e164: string) => `@wa_${e164.slice(1)}:localhost`;

describe("bridge end to end (Synapse + gatekeeper + bridge process)", function () {
  this.timeout(120_000);
  let w: World;
  let gk: GatekeeperProcess;
  let bridge: BridgeProcess;
  let alice: MatrixTestUser;
  let aliceUri: string;
  let bot: string;
  let annaRoom: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    // Only alice may use this bridge: eve (same server) must be turned away.
    const aliceLocalpart = `alice${Date.now() % 1_000_000}`;
    w = await startWorld(
      "alice",
      [
        { phone: ANNA, name: "Anna", devices: 2 },
        { phone: BERT, name: "Bert", avatar: { data: PIXEL_PNG, contentType: "image/png" } },
        { phone: CARLA, name: "Carla" },
        { phone: DORA, name: "Dora", optedIn: false },
      ],
      { bridge: { permissions: { [`@${aliceLocalpart}:localhost`]: "admin" } } },
      aliceLocalpart,
    );
    ({ gk, bridge, user: alice, userUri: aliceUri, bot } = w);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  it("starts a chat by command and carries text both ways", async () => {
    const mgmt = await alice.createDm(bot);
    await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"));
    await alice.sendText(mgmt, "start-chat 0049 151-123 456 78");
    annaRoom = await alice.acceptInviteFrom(puppet(ANNA));
    await alice.waitForEvent("the bot's confirmation", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("is ready"));

    await alice.sendText(annaRoom, "hello Anna");
    for (const device of [1, 2]) {
      const got = await gk.waitForMessage(ANNA, (m) => m.deviceId === device && (m.content as { message?: { conversation?: string } }).message?.conversation === "hello Anna", 20_000);
      assert.equal(got.sender, aliceUri);
    }

    await gk.sendAs(ANNA, { to: aliceUri, text: "hi Alice" });
    const ev = await alice.waitForEvent("Anna's reply", (e) => e.roomId === annaRoom && e.content.body === "hi Alice");
    assert.equal(ev.sender, puppet(ANNA));
    assert.equal(ev.content.msgtype, "m.text");
  });

  it("keeps the order of several messages in both directions", async () => {
    const texts = Array.from({ length: 8 }, (_, i) => `ordered ${i}`);
    for (const t of texts) await gk.sendAs(ANNA, { to: aliceUri, text: t });
    await alice.waitFor("all ordered messages", () => (alice.messagesIn(annaRoom, puppet(ANNA)).filter((e) => String(e.content.body).startsWith("ordered ")).length === texts.length ? true : undefined));
    assert.deepEqual(alice.messagesIn(annaRoom, puppet(ANNA)).map((e) => e.content.body).filter((b) => String(b).startsWith("ordered ")), texts);

    const out = Array.from({ length: 8 }, (_, i) => `outgoing ${i}`);
    for (const t of out) await alice.sendText(annaRoom, t);
    await gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && (m.content as { message?: { conversation?: string } }).message?.conversation === out.at(-1), 20_000);
    const got = (await gk.received(ANNA)).filter((m) => m.deviceId === 1).map((m) => (m.content as { message?: { conversation?: string } }).message?.conversation).filter((t) => t?.startsWith("outgoing "));
    assert.deepEqual(got, out);
  });

  it("starts a chat when the user invites a puppet", async () => {
    const room = await alice.createDm(puppet(BERT));
    await alice.waitFor("the puppet to join", () => (alice.client.getRoom(room)?.getMember(puppet(BERT))?.membership === "join" ? true : undefined));
    await alice.sendText(room, "hello Bert");
    const got = await gk.waitForMessage(BERT, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === "hello Bert", 20_000);
    assert.equal(got.sender, aliceUri);
    // The puppet carries the contact's name and picture from the directory.
    const profile = await alice.client.getProfileInfo(puppet(BERT));
    assert.equal(profile.displayname, "Bert (WhatsApp)");
    assert.match(profile.avatar_url ?? "", /^mxc:\/\//);
    const media = await fetch(`${w.env.synapse.url}/_matrix/client/v1/media/download/${profile.avatar_url!.slice(6)}`, { headers: { Authorization: `Bearer ${alice.client.getAccessToken()}` } });
    assert.deepEqual(Buffer.from(await media.arrayBuffer()), PIXEL_PNG);
  });

  it("opens a portal for a first message from a phone number", async () => {
    await gk.sendAs(CARLA, { to: aliceUri, text: "Carla here" });
    const room = await alice.acceptInviteFrom(puppet(CARLA));
    const ev = await alice.waitForEvent("Carla's first message", (e) => e.roomId === room && e.content.body === "Carla here");
    assert.equal(ev.sender, puppet(CARLA));
  });

  it("answers list and ping in the management room", async () => {
    const mgmt = alice.events.find((e) => e.sender === bot)!.roomId;
    await alice.sendText(mgmt, "list");
    const list = await alice.waitForEvent("the chat list", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).startsWith("Your WhatsApp chats"));
    assert.match(String(list.content.body), /\+49 1511 2345678/);
    assert.match(String(list.content.body), new RegExp(annaRoom.replace(/[!.]/g, "\\$&")));
    await alice.sendText(mgmt, "ping");
    const ping = await alice.waitForEvent("the ping answer", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).startsWith("Bridge is connected"));
    assert.match(String(ping.content.body), /Messages waiting to be sent: 0/);
  });

  it("turns away a Matrix user who is not allowed to use the bridge", async () => {
    const eve = await MatrixTestUserClass.create(w.env.synapse, `eve${Date.now() % 1_000_000}`);
    try {
      // The invite is declined with the reason: nothing is joined, registered or looked up for her.
      const declined = (room: string, who: string) => (e: SeenEvent) =>
        e.roomId === room && e.type === "m.room.member" && e.sender === who && e.content.membership === "leave" && String(e.content.reason).includes("not allowed");
      const room = await eve.createDm(bot);
      await eve.waitForEvent("the bot's refusal", declined(room, bot));
      const dm = await eve.createDm(puppet(BERT));
      await eve.waitForEvent("the puppet's refusal", declined(dm, puppet(BERT)));
      assert.equal(eve.events.some((e) => (e.roomId === room || e.roomId === dm) && e.type === "m.room.member" && e.content.membership === "join" && e.sender !== eve.userId), false, "nobody of the bridge joined");
    } finally {
      eve.stop();
    }
  });

  it("recreates a portal the user left when the contact writes again", async () => {
    const room = alice.events.find((e) => e.sender === puppet(CARLA) && e.type === "m.room.create")!.roomId;
    await alice.client.leave(room);
    await new Promise((r) => setTimeout(r, 1000));
    await gk.sendAs(CARLA, { to: aliceUri, text: "are you still there?" });
    const fresh = await alice.waitFor("a new invite from Carla", () =>
      alice.client.getRooms().find((r) => r.roomId !== room && r.getMyMembership() === "invite" && r.getMember(alice.userId)?.events.member?.getSender() === puppet(CARLA))?.roomId,
    );
    await alice.client.joinRoom(fresh);
    await alice.waitForEvent("Carla's message in the new room", (e) => e.roomId === fresh && e.content.body === "are you still there?");
  });

  it("explains that a number has not opted in", async () => {
    const mgmt = alice.events.find((e) => e.sender === bot)!.roomId;
    await alice.sendText(mgmt, `start-chat ${DORA}`);
    const ev = await alice.waitForEvent("the not-opted-in notice", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("has not enabled chats with other apps"));
    assert.equal(ev.content.msgtype, "m.notice");
    // Dora opted out after a chat existed: a message into the portal is refused with the same explanation.
    await gk.optOut(ANNA);
    await alice.sendText(annaRoom, "are you there?");
    await alice.waitForEvent("the refusal notice in the portal", (e) => e.roomId === annaRoom && e.sender === puppet(ANNA) && String(e.content.body).includes("has not enabled chats with other apps"));
    await gk.optIn(ANNA);
  });

  it("tells the user when the gatekeeper is down and delivers once it is back", async () => {
    await gk.crash();
    await alice.sendText(annaRoom, "sent during the outage");
    await alice.waitForEvent("the outage notice", (e) => e.roomId === annaRoom && e.sender === puppet(ANNA) && String(e.content.body).includes("cannot be reached"), 60_000);
    await gk.restart({ samePort: true });
    await gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === "sent during the outage", 60_000);
  });

  it("loses and duplicates nothing when SIGKILLed in a 200-message burst each way", async function () {
    this.timeout(300_000);
    const n = 200;
    const inTexts = Array.from({ length: n }, (_, i) => `burst-in ${i}`);
    const outTexts = Array.from({ length: n }, (_, i) => `burst-out ${i}`);
    const sendIn = (async () => {
      for (const t of inTexts) await gk.sendAs(ANNA, { to: aliceUri, text: t });
    })();
    const outEvents: string[] = [];
    const sendOut = (async () => {
      for (const t of outTexts) outEvents.push(await alice.sendText(annaRoom, t));
    })();
    await new Promise((r) => setTimeout(r, 1500));
    await bridge.kill();
    const receivedBeforeKill = (await gk.received(ANNA)).filter((m) => m.deviceId === 1 && JSON.stringify(m.content).includes("burst-out ")).length;
    assert.ok(receivedBeforeKill < n, `the kill must land mid-burst (outgoing delivered before it: ${receivedBeforeKill})`);
    await new Promise((r) => setTimeout(r, 500));
    await bridge.start();
    await Promise.all([sendIn, sendOut]);

    const burstIn = () => alice.messagesIn(annaRoom, puppet(ANNA)).map((e) => String(e.content.body)).filter((b) => b.startsWith("burst-in "));
    await alice.waitFor(`${n} incoming burst messages`, () => (burstIn().length >= n ? true : undefined), 180_000);
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would arrive right behind
    assert.deepEqual(burstIn(), inTexts, `every incoming message exactly once, in order; ${describeDiff(burstIn(), inTexts)}`);

    for (const device of [1, 2]) {
      const burstOut = async () =>
        (await gk.received(ANNA))
          .filter((m) => m.deviceId === device)
          .map((m) => (m.content as { message?: { conversation?: string } }).message?.conversation ?? "")
          .filter((t) => t.startsWith("burst-out "));
      const deadline = Date.now() + 180_000;
      while ((await burstOut()).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      await new Promise((r) => setTimeout(r, 1000));
      const got = await burstOut();
      if (JSON.stringify(got) !== JSON.stringify(outTexts)) {
        // What else did the device get (undecryptable envelopes, other kinds)? It tells where a message went.
        const other = (await gk.received(ANNA)).filter((m) => m.deviceId === device && !JSON.stringify(m.content).includes("burst-"));
        console.error(`device ${device} discarded: ${JSON.stringify((await gk.discarded(ANNA)).filter((d) => d.deviceId === device))}`);
        console.error(`device ${device} also received: ${JSON.stringify(other.slice(-20).map((m) => ({ id: m.messageId, content: m.content })))}`);
        console.error(bridge.logs.split("\n").filter((l) => /outbox|queue|interop|error|warn/i.test(l)).slice(-60).join("\n"));
        // Did the bridge take the missing messages in (message map) and did it still hold them (outbox)?
        await withBridgeDatabase(w.config, async (db) => {
          for (const t of outTexts.filter((x) => !got.includes(x))) {
            const eventId = outEvents[outTexts.indexOf(t)]!;
            const mapped = await db.get<{ message_id?: string }>("SELECT message_id, timestamp FROM message_map WHERE event_id = ?", [eventId]);
            const queued = await db.get("SELECT seq, attempts, last_error, envelopes IS NOT NULL AS encrypted FROM outbox WHERE event_id = ?", [eventId]);
            const elsewhere = (await gk.received(ANNA)).filter((m) => m.messageId === mapped?.message_id).map((m) => ({ device: m.deviceId, content: m.content }));
            // Did the homeserver ever deliver it? The intake records every event it took in.
            const taken = await db.get("SELECT received_at FROM appservice_seen WHERE item_key = ?", [`event:${eventId}`]);
            console.error(`missing ${JSON.stringify(t)}: event ${eventId}, taken in ${JSON.stringify(taken)}, mapped ${JSON.stringify(mapped)}, in outbox ${JSON.stringify(queued)}, received by ${JSON.stringify(elsewhere)}`);
          }
        });
        console.error(gk.logs.split("\n").filter((l) => /warn|error|"level":[45]0/i.test(l)).slice(-30).join("\n"));
      }
      assert.deepEqual(got, outTexts, `device ${device}: every outgoing message exactly once, in order; ${describeDiff(got, outTexts)}`);
    }
    // Nothing thrown away on the phones either (a reused counter would be a message nobody sees).
    await gk.assertNothingDiscarded();
  });
});

function describeDiff(got: string[], want: string[]): string {
  const counts = new Map<string, number>();
  for (const g of got) counts.set(g, (counts.get(g) ?? 0) + 1);
  const dupes = [...counts].filter(([, n]) => n > 1).map(([t]) => t);
  const missing = want.filter((t) => !counts.has(t));
  const firstDiff = got.findIndex((g, i) => g !== want[i]);
  return `got ${got.length}, duplicates ${JSON.stringify(dupes.slice(0, 5))}, missing ${JSON.stringify(missing.slice(0, 5))}, first difference at ${firstDiff}: ${JSON.stringify(got.slice(Math.max(0, firstDiff - 2), firstDiff + 3))}`;
}
