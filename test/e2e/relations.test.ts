// Replies, reactions, edits, deletes, receipts and typing, both ways, through the real bridge.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { PIXEL_PNG, startWorld, type ReceivedJson, type World } from "./world.js";

const ANNA = "+4915112340001";

for (const encrypted of [false, true]) describe(`bridge end to end: replies, reactions, edits, deletes, receipts, typing (${encrypted ? "encrypted" : "plain"} portal)`, function () {
  this.timeout(90_000);
  let w: World;
  let room: string;
  let failed = false;
  const annaGot = async (pred: (c: ReceivedJson) => boolean, what: string) =>
    (await w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && pred(m.content as ReceivedJson), 20_000).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    })).content as ReceivedJson;

  // Alice's question (Matrix -> WhatsApp) and Anna's ping (WhatsApp -> Matrix), with both IDs on both sides.
  let questionEvent: string;
  let questionId: string;
  let pingEvent: string;
  let pingId: string;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const bridge = { message_status_events: true, ...(encrypted ? { encryption: { default: true, allow: true } } : {}) };
    w = await startWorld("rel", [{ phone: ANNA, name: "Anna" }], { bridge }, undefined, encrypted);
    room = await w.user.createDm(w.puppet(ANNA), { encrypted });
    await w.user.waitFor("the puppet to join", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "join" ? true : undefined));
    questionEvent = await w.user.sendText(room, "question?");
    const q = await w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && (m.content as ReceivedJson).message?.conversation === "question?", 20_000);
    questionId = q.messageId;
    pingId = await w.gk.sendAs(ANNA, { to: w.userUri, text: "ping" });
    const ping = await w.user.waitForEvent("Anna's ping", (e) => e.roomId === room && e.content.body === "ping");
    assert.equal(ping.encrypted, encrypted, "the portal's messages travel encrypted exactly when the portal is encrypted");
    pingEvent = ping.eventId;
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  it("reports the delivery status of sent messages", async () => {
    const statuses = (eventId: string) =>
      w.user.events.filter((e) => e.type === "com.beeper.message_send_status" && (e.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id === eventId);
    await w.user.waitFor("sent and delivered statuses of the question", () => {
      const s = statuses(questionEvent);
      return s.some((e) => e.content.status === "SUCCESS") && s.some((e) => Array.isArray(e.content.delivered_to_users) && (e.content.delivered_to_users as string[]).includes(w.puppet(ANNA))) ? true : undefined;
    });
    assert.ok(statuses(questionEvent).every((e) => e.sender === w.puppet(ANNA)));
  });

  it("replies from WhatsApp point at the Matrix event they answer", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "answer", replyTo: questionId });
    const ev = await w.user.waitForEvent("the reply", (e) => e.roomId === room && e.content.body === "answer");
    assert.deepEqual((ev.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: string } })["m.in_reply_to"]?.event_id, questionEvent);
    // Media can answer a message too.
    await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "image", data: PIXEL_PNG, mimetype: "image/png", caption: "this one" }, { replyTo: questionId });
    const image = await w.user.waitForEvent("the image reply", (e) => e.roomId === room && e.content.msgtype === "m.image");
    assert.equal((image.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: string } } | undefined)?.["m.in_reply_to"]?.event_id, questionEvent);
  });

  it("replies from Matrix quote the WhatsApp message, without the fallback", async () => {
    await w.user.send(room, "m.room.message", {
      msgtype: "m.text",
      body: `> <${w.puppet(ANNA)}> ping\n\npong`,
      "m.relates_to": { "m.in_reply_to": { event_id: pingEvent } },
    });
    const c = await annaGot((c) => c.message?.extendedTextMessage?.text === "pong", "the reply");
    assert.equal(c.message!.extendedTextMessage!.contextInfo?.stanzaId, pingId);
  });

  it("reactions from WhatsApp appear, are replaced and removed", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, react: { id: questionId, emoji: "👍" } });
    const first = await w.user.waitForEvent("👍", (e) => e.roomId === room && e.type === "m.reaction" && (e.content["m.relates_to"] as { key?: string })?.key === "👍");
    assert.equal((first.content["m.relates_to"] as { event_id?: string }).event_id, questionEvent);
    assert.equal(first.sender, w.puppet(ANNA));
    await w.gk.sendAs(ANNA, { to: w.userUri, react: { id: questionId, emoji: "❤️" } });
    await w.user.waitForEvent("the 👍 redacted", (e) => e.type === "m.room.redaction" && e.redacts === first.eventId);
    const second = await w.user.waitForEvent("❤️", (e) => e.type === "m.reaction" && (e.content["m.relates_to"] as { key?: string })?.key === "❤️");
    await w.gk.sendAs(ANNA, { to: w.userUri, react: { id: questionId, emoji: "" } });
    await w.user.waitForEvent("the ❤️ redacted", (e) => e.type === "m.room.redaction" && e.redacts === second.eventId);
  });

  it("reactions from Matrix reach WhatsApp, and redacting one removes it", async () => {
    const reaction = await w.user.send(room, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: pingEvent, key: "🎉" } });
    const c = await annaGot((c) => c.message?.reactionMessage?.text === "🎉", "the reaction");
    assert.equal(c.message!.reactionMessage!.key?.id, pingId);
    await w.user.client.redactEvent(room, reaction);
    await annaGot((c) => c.message?.reactionMessage !== undefined && !c.message.reactionMessage.text && c.message.reactionMessage.key?.id === pingId, "the reaction removal");
  });

  it("edits cross both ways", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, edit: { id: pingId, text: "ping (edited)" } });
    const ev = await w.user.waitForEvent("the edit", (e) => e.roomId === room && (e.content["m.new_content"] as { body?: string } | undefined)?.body === "ping (edited)");
    assert.deepEqual(ev.content["m.relates_to"], { rel_type: "m.replace", event_id: pingEvent });

    await w.user.send(room, "m.room.message", {
      msgtype: "m.text",
      body: "* question, edited?",
      "m.new_content": { msgtype: "m.text", body: "question, edited?" },
      "m.relates_to": { rel_type: "m.replace", event_id: questionEvent },
    });
    const c = await annaGot((c) => c.message?.protocolMessage?.editedMessage?.conversation === "question, edited?", "the edit");
    assert.equal(c.message!.protocolMessage!.key?.id, questionId);
    assert.equal(c.message!.protocolMessage!.type, "MESSAGE_EDIT");
  });

  it("read receipts and typing cross both ways", async () => {
    const readThis = await w.user.sendText(room, "read this?");
    const sent = await w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && (m.content as ReceivedJson).message?.conversation === "read this?", 20_000);
    await w.gk.sendAs(ANNA, { to: w.userUri, read: [sent.messageId] });
    await w.user.waitFor("Anna's read receipt", () =>
      w.user.receipts.some((r) => r.roomId === room && r.eventId === readThis && r.userId === w.puppet(ANNA) && r.type === "m.read") ? true : undefined,
    );

    const latest = await w.gk.sendAs(ANNA, { to: w.userUri, text: "read me" });
    const ev = await w.user.waitForEvent("read me", (e) => e.roomId === room && e.content.body === "read me");
    await w.user.client.sendReadReceipt(w.user.client.getRoom(room)!.findEventById(ev.eventId)!);
    const r = await annaGot((c) => c.receipt?.type === "READ" && (c.receipt.messageIds ?? []).includes(latest), "the read receipt");
    assert.ok(r.receipt!.messageIds!.includes(latest));

    await w.gk.sendAs(ANNA, { to: w.userUri, typing: "composing" });
    await w.user.waitFor("Anna typing", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.typing ? true : undefined));
    await w.user.client.sendTyping(room, true, 20_000);
    await annaGot((c) => c.chatState !== undefined && (c.chatState.state ?? "COMPOSING") === "COMPOSING", "alice typing");
  });

  it("deletes cross both ways", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, revoke: pingId });
    await w.user.waitForEvent("the ping redacted", (e) => e.type === "m.room.redaction" && e.redacts === pingEvent);
    await w.user.client.redactEvent(room, questionEvent);
    const c = await annaGot((c) => c.message?.protocolMessage !== undefined && (c.message.protocolMessage.type ?? "REVOKE") === "REVOKE" && c.message.protocolMessage.key?.id === questionId, "the revoke");
    assert.ok(c.message!.protocolMessage);
  });

  it("carries formatting both ways", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "*bold* and _italic_ and ~gone~" });
    const ev = await w.user.waitForEvent("formatted text", (e) => e.roomId === room && e.content.body === "*bold* and _italic_ and ~gone~");
    assert.equal(ev.content.format, "org.matrix.custom.html");
    assert.match(String(ev.content.formatted_body), /<strong>bold<\/strong>/);
    assert.match(String(ev.content.formatted_body), /<em>italic<\/em>/);
    await w.user.send(room, "m.room.message", { msgtype: "m.text", body: "loud and clear", format: "org.matrix.custom.html", formatted_body: "<b>loud</b> and <code>clear</code>" });
    await annaGot((c) => c.message?.conversation === "*loud* and `clear`", "the formatted text");
  });

  it("says what was not bridged instead of dropping it", async () => {
    // Locations and polls are bridged now (kinds.test.ts); a message type of a client's own is not.
    const ev = await w.user.send(room, "m.room.message", { msgtype: "org.example.widget", body: "Berlin?" });
    const notice = await w.user.waitForEvent("the notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && String(e.content.body).includes('"org.example.widget" messages are not bridged'));
    assert.ok(notice.eventId !== ev);
  });
});
