// Stickers, video notes, locations, contact cards, polls, pins, mentions, forwarded marks and link previews through
// the real bridge, both ways where the direction exists, in a plain and an encrypted portal: the Matrix event's
// shape on one side, what the simulated WhatsApp user decoded on the other.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { encryptLikeAClient, upload } from "./attachments.js";
import { PIXEL_PNG, startWorld, type World } from "./world.js";

const ANNA = "+4915112340031";
type Json = Record<string, any>;

for (const encrypted of [false, true]) describe(`bridge end to end: stickers, locations, contacts, polls, pins, mentions, previews (${encrypted ? "encrypted" : "plain"} portal)`, function () {
  this.timeout(120_000);
  let w: World;
  let room: string;
  let failed = false;
  const annaGot = async (pred: (c: Json) => boolean, what: string) =>
    (await w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && pred(m.content as Json), 30_000).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    })) as { messageId: string; content: Json; media?: { ok: boolean; sha256?: string } };
  const inRoom = async (what: string, pred: (e: { type: string; content: Json; sender: string }) => boolean) => (await w.user.waitForEvent(what, (e) => e.roomId === room && pred(e as never), 30_000)) as unknown as { eventId: string; type: string; sender: string; content: Json };

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const bridge = encrypted ? { encryption: { default: true, allow: true } } : {};
    w = await startWorld("kinds", [{ phone: ANNA, name: "Anna" }], { bridge }, undefined, encrypted);
    room = await w.user.createDm(w.puppet(ANNA), { encrypted });
    await w.user.waitFor("the puppet to join", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "join" ? true : undefined));
    // The Matrix user's interop identity (keys) exists once they have sent something.
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

  it("a WhatsApp sticker is an m.sticker (a static WebP as PNG), a video note an m.video", async () => {
    const webp = await sharp({ create: { width: 512, height: 512, channels: 4, background: { r: 250, g: 0, b: 0, alpha: 0.5 } } }).webp().toBuffer();
    await w.gk.sendAs(ANNA, { to: w.userUri, media: { kind: "image", data: webp.toString("base64"), mimetype: "image/webp", width: 512, height: 512, sticker: true } });
    const sticker = await inRoom("the sticker", (e) => e.type === "m.sticker");
    assert.equal(sticker.sender, w.puppet(ANNA));
    assert.equal(sticker.content.msgtype, undefined);
    assert.deepEqual([sticker.content.info?.mimetype, sticker.content.info?.["org.matrix.msc4230.is_animated"], sticker.content.info?.w, sticker.content.info?.h], ["image/png", false, 512, 512]);
    assert.ok(encrypted ? sticker.content.file?.url : sticker.content.url, "the sticker's file is on Matrix");
    await w.gk.sendAs(ANNA, { to: w.userUri, media: { kind: "video", data: randomBytes(2000).toString("base64"), mimetype: "video/mp4", seconds: 3, videoNote: true } });
    const note = await inRoom("the video note", (e) => e.content.msgtype === "m.video");
    assert.equal(note.content.info?.duration, 3000);
  });

  it("an animated WhatsApp sticker is an m.sticker that stays an animated WebP, flagged animated (MSC4230)", async () => {
    const frames = await Promise.all([0, 120, 240].map((r) => sharp({ create: { width: 512, height: 512, channels: 4, background: { r, g: 90, b: 0, alpha: 1 } } }).png().toBuffer()));
    const webp = await sharp(frames, { join: { animated: true } }).webp({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    await w.gk.sendAs(ANNA, { to: w.userUri, media: { kind: "image", data: webp.toString("base64"), mimetype: "image/webp", width: 512, height: 512, sticker: true, animated: true } });
    const sticker = await inRoom("the animated sticker", (e) => e.type === "m.sticker" && e.content.info?.["org.matrix.msc4230.is_animated"] === true);
    assert.equal(sticker.sender, w.puppet(ANNA));
    assert.deepEqual([sticker.content.info.mimetype, sticker.content.info.size, sticker.content.info.w, sticker.content.info.h], ["image/webp", webp.length, 512, 512]);
    assert.ok(encrypted ? sticker.content.file?.url : sticker.content.url, "the sticker's file is on Matrix");
  });

  it("a WhatsApp view-once photo is a notice, never posted as media", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, media: { kind: "image", data: PIXEL_PNG.toString("base64"), mimetype: "image/png", caption: "only once" }, wrap: "view_once" });
    const notice = await inRoom("the view-once notice", (e) => typeof e.content.body === "string" && /view once/.test(e.content.body));
    assert.equal(notice.sender, w.puppet(ANNA));
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "after the view-once" });
    await inRoom("the text after it", (e) => e.content.body === "after the view-once");
    const posted = w.user.client.getRoom(room)?.getLiveTimeline().getEvents().filter((e) => e.getContent().msgtype === "m.image" && e.getContent().body === "only once") ?? [];
    assert.equal(posted.length, 0, "the view-once photo was posted");
  });

  it("a WhatsApp document inside documentWithCaptionMessage is an m.file with its caption", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, media: { kind: "document", data: randomBytes(500).toString("base64"), mimetype: "application/pdf", fileName: "plan.pdf", caption: "the plan" }, wrap: "document_with_caption" });
    const file = await inRoom("the wrapped document", (e) => e.content.msgtype === "m.file");
    assert.equal(file.sender, w.puppet(ANNA));
    assert.match(JSON.stringify(file.content), /plan\.pdf/);
    assert.match(JSON.stringify(file.content), /the plan/);
  });

  it("a WhatsApp location is an m.location with geo_uri and MSC3488 fields", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, location: { latitude: 52.52, longitude: 13.405, name: "Fernsehturm", address: "Berlin" } });
    const loc = await inRoom("the location", (e) => e.content.msgtype === "m.location");
    assert.equal(loc.content.geo_uri, "geo:52.52,13.405");
    assert.deepEqual(loc.content["org.matrix.msc3488.location"], { uri: "geo:52.52,13.405", description: "Fernsehturm, Berlin" });
    assert.match(loc.content.body, /Fernsehturm/);
  });

  it("a WhatsApp live location is posted at each update, marked live", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, location: { latitude: 40.1, longitude: -3.7, live: true } });
    const first = await inRoom("the first live update", (e) => e.content.msgtype === "m.location" && e.content.geo_uri === "geo:40.1,-3.7");
    assert.match(first.content.body, /Live location/);
    assert.deepEqual(first.content["org.matrix.msc3488.asset"], { type: "m.self" });
    await w.gk.sendAs(ANNA, { to: w.userUri, location: { latitude: 40.2, longitude: -3.6, live: true } });
    const second = await inRoom("the second live update", (e) => e.content.msgtype === "m.location" && e.content.geo_uri === "geo:40.2,-3.6");
    assert.match(second.content.body, /Live location/);
  });

  it("a WhatsApp contact card is a readable text that keeps the vCard", async () => {
    const vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nTEL;type=CELL:+49 151 99999999\nEND:VCARD";
    await w.gk.sendAs(ANNA, { to: w.userUri, contacts: [{ name: "Bob Builder", vcard }] });
    const card = await inRoom("the contact card", (e) => typeof e.content.body === "string" && e.content.body.startsWith("👤 Bob Builder"));
    assert.equal(card.content.body, "👤 Bob Builder\n📞 +49 151 99999999 (cell)");
    assert.deepEqual(card.content["fi.mdb.vcard"], [vcard]);
  });

  it("several WhatsApp contact cards (contactsArrayMessage) are one readable text keeping every vCard", async () => {
    const bob = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob Builder\nTEL;type=CELL:+49 151 99999999\nEND:VCARD";
    const wendy = "BEGIN:VCARD\nVERSION:3.0\nFN:Wendy Works\nTEL;type=CELL:+49 151 88888888\nEND:VCARD";
    await w.gk.sendAs(ANNA, { to: w.userUri, contacts: [{ name: "Bob Builder", vcard: bob }, { name: "Wendy Works", vcard: wendy }] });
    const cards = await inRoom("the contact cards", (e) => typeof e.content.body === "string" && e.content.body.includes("Wendy Works"));
    assert.equal(cards.content.body, "👤 Bob Builder\n📞 +49 151 99999999 (cell)\n\n👤 Wendy Works\n📞 +49 151 88888888 (cell)");
    assert.deepEqual(cards.content["fi.mdb.vcard"], [bob, wendy]);
  });

  it("a WhatsApp poll is an MSC3381 poll start; votes cross both ways, sealed with the poll's secret", async () => {
    const pollId = await w.gk.sendAs(ANNA, { to: w.userUri, poll: { question: "Lunch?", options: ["Pizza", "Sushi"], maxSelections: 1 } });
    const poll = await inRoom("the poll", (e) => e.type === "org.matrix.msc3381.poll.start");
    const start = poll.content["org.matrix.msc3381.poll.start"] as Json;
    assert.equal(start.question["org.matrix.msc1767.text"], "Lunch?");
    assert.deepEqual(start.answers.map((a: Json) => a["org.matrix.msc1767.text"]), ["Pizza", "Sushi"]);
    assert.equal(start.max_selections, 1);
    // Anna votes on her phone: her puppet's response names the answer.
    await w.gk.sendAs(ANNA, { to: w.userUri, vote: { poll: pollId, options: ["Sushi"] } });
    const response = await inRoom("Anna's vote", (e) => e.type === "org.matrix.msc3381.poll.response" && e.sender === w.puppet(ANNA));
    assert.equal(response.sender, w.puppet(ANNA));
    assert.deepEqual(response.content["m.relates_to"], { rel_type: "m.reference", event_id: poll.eventId });
    const sushi = start.answers.find((a: Json) => a["org.matrix.msc1767.text"] === "Sushi").id;
    assert.deepEqual(response.content["org.matrix.msc3381.poll.response"].answers, [sushi]);
    // The Matrix user votes: Anna's phone opens the vote with the poll's secret.
    const pizza = start.answers.find((a: Json) => a["org.matrix.msc1767.text"] === "Pizza").id;
    await w.user.send(room, "org.matrix.msc3381.poll.response", { "org.matrix.msc3381.poll.response": { answers: [pizza] }, "m.relates_to": { rel_type: "m.reference", event_id: poll.eventId } });
    const vote = await annaGot((c) => c.message?.pollUpdateMessage !== undefined, "the Matrix user's vote");
    assert.deepEqual(vote.content.pollVote, { poll: pollId, selected: ["Pizza"] });
  });

  it("mentions, the forwarded mark and a link preview arrive with the text", async () => {
    await w.gk.sendAs(ANNA, { to: w.userUri, text: `look @${w.user.userId.slice(1)} https://example.org/a`, mentions: [w.userUri], forwarded: true, preview: { url: "https://example.org/a", title: "Page A", description: "About A" } });
    const msg = await inRoom("the decorated text", (e) => typeof e.content.body === "string" && e.content.body.includes("https://example.org/a"));
    const body = String(msg.content.body);
    assert.deepEqual(msg.content["m.mentions"], { user_ids: [w.user.userId] });
    assert.match(String(msg.content.formatted_body), new RegExp(`<a href="https://matrix.to/#/${w.user.userId}">`));
    assert.ok(body.startsWith("↪️ Forwarded\n"));
    assert.deepEqual(msg.content["com.beeper.linkpreviews"], [{ matched_url: "https://example.org/a", "og:url": "https://example.org/a", "og:title": "Page A", "og:description": "About A" }]);
  });

  it("an edit inside WhatsApp's editedMessage wrapper is an m.replace", async () => {
    const id = await w.gk.sendAs(ANNA, { to: w.userUri, text: "typo hree" });
    const original = await inRoom("the message to edit", (e) => e.content.body === "typo hree");
    await w.gk.sendAs(ANNA, { to: w.userUri, edit: { id, text: "typo here" }, wrap: "edited" });
    const edit = await inRoom("the wrapped edit", (e) => e.content["m.new_content"]?.body === "typo here");
    assert.equal(edit.content["m.relates_to"]?.rel_type, "m.replace");
    assert.equal(edit.content["m.relates_to"]?.event_id, original.eventId);
  });

  it("pins cross both ways", async () => {
    const id = await w.gk.sendAs(ANNA, { to: w.userUri, text: "pin me" });
    const ev = await inRoom("the message to pin", (e) => e.content.body === "pin me");
    await w.gk.sendAs(ANNA, { to: w.userUri, pin: { id, pinned: true } });
    await w.user.waitFor("the pin on Matrix", async () => {
      const state = await w.user.client.getStateEvent(room, "m.room.pinned_events", "").catch(() => undefined);
      return (state as { pinned?: string[] } | undefined)?.pinned?.includes((ev as { eventId: string }).eventId) ? true : undefined;
    });
    const mine = await w.user.sendText(room, "and this one");
    const sent = await annaGot((c) => c.message?.conversation === "and this one", "Alice's message");
    await w.user.client.sendStateEvent(room, "m.room.pinned_events" as never, { pinned: [(ev as { eventId: string }).eventId, mine] } as never, "");
    const pin = await annaGot((c) => c.message?.pinInChatMessage?.key?.id === sent.messageId, "the pin from Matrix");
    assert.equal(pin.content.message.pinInChatMessage.type, "PIN_FOR_ALL");
    // Unpinning, both ways: the contact unpins theirs, the Matrix user unpins their own.
    await w.gk.sendAs(ANNA, { to: w.userUri, pin: { id, pinned: false } });
    await w.user.waitFor("the unpin on Matrix", async () => {
      const state = await w.user.client.getStateEvent(room, "m.room.pinned_events", "").catch(() => undefined);
      const pinned = (state as { pinned?: string[] } | undefined)?.pinned ?? [];
      return !pinned.includes((ev as { eventId: string }).eventId) && pinned.includes(mine) ? true : undefined;
    });
    await w.user.client.sendStateEvent(room, "m.room.pinned_events" as never, { pinned: [] } as never, "");
    const unpin = await annaGot((c) => c.message?.pinInChatMessage?.key?.id === sent.messageId && c.message.pinInChatMessage.type === "UNPIN_FOR_ALL", "the unpin from Matrix");
    assert.equal(unpin.content.message.pinInChatMessage.type, "UNPIN_FOR_ALL");
  });

  it("a Matrix location reaches WhatsApp as a locationMessage", async () => {
    await w.user.send(room, "m.room.message", { msgtype: "m.location", body: "Marienplatz", geo_uri: "geo:48.137,11.575;u=20", "org.matrix.msc3488.location": { uri: "geo:48.137,11.575;u=20", description: "Marienplatz" } });
    const got = await annaGot((c) => c.message?.locationMessage !== undefined, "the location");
    const l = got.content.message.locationMessage;
    assert.deepEqual([l.degreesLatitude, l.degreesLongitude, l.name, l.accuracyInMeters], [48.137, 11.575, "Marienplatz", 20]);
  });

  const sendSticker = async (bytes: Buffer, mimetype: string, body: string) => {
    const info = { mimetype, size: bytes.length };
    if (encrypted) {
      const { ciphertext, file } = await encryptLikeAClient(bytes);
      const url = await upload(w.user.client, ciphertext, "application/octet-stream");
      await w.user.send(room, "m.sticker", { body, info, file: { ...file, url } });
    } else {
      await w.user.send(room, "m.sticker", { body, info, url: await upload(w.user.client, bytes, mimetype) });
    }
  };

  it("a Matrix PNG sticker reaches WhatsApp as a 512×512 WebP sticker whose file verifies", async () => {
    const png = await sharp({ create: { width: 300, height: 200, channels: 4, background: { r: 0, g: 160, b: 90, alpha: 1 } } }).png().toBuffer();
    await sendSticker(png, "image/png", "cat");
    const got = await annaGot((c) => c.message?.stickerMessage !== undefined, "the sticker");
    const s = got.content.message.stickerMessage;
    assert.deepEqual([s.mimetype, s.width, s.height, s.isAnimated ?? false], ["image/webp", 512, 512, false]);
    assert.equal(got.media?.ok, true, "the simulated phone fetched and verified the sticker's file");
    const file = await w.gk.receivedMedia(ANNA, got.messageId);
    const meta = await sharp(file.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 512, 512]);
    assert.ok(file.bytes.length <= 100_000);
  });

  it("a Matrix animated GIF sticker reaches WhatsApp as an animated WebP sticker; bytes that are no image go as an image, with a notice", async () => {
    const frames = await Promise.all([0, 255].map((r) => sharp({ create: { width: 128, height: 128, channels: 4, background: { r, g: 0, b: 255, alpha: 1 } } }).png().toBuffer()));
    await sendSticker(await sharp(frames, { join: { animated: true } }).gif({ delay: [200, 200], loop: 0 }).toBuffer(), "image/gif", "blink");
    const got = await annaGot((c) => c.message?.stickerMessage?.isAnimated === true, "the animated sticker");
    assert.equal(got.content.message.stickerMessage.mimetype, "image/webp");
    const meta = await sharp((await w.gk.receivedMedia(ANNA, got.messageId)).bytes, { animated: true }).metadata();
    assert.deepEqual([meta.format, meta.pages, meta.width, meta.pageHeight], ["webp", 2, 512, 512]);
    // Bytes that are no image cannot be a sticker: they go as the image they claim to be, and the user is told.
    await sendSticker(randomBytes(3000), "image/webp", "noise");
    const image = await annaGot((c) => c.message?.imageMessage !== undefined, "the sticker sent as an image");
    assert.equal(image.content.message.imageMessage.mimetype, "image/webp");
    assert.equal(image.media?.ok, true);
    await inRoom("the notice", (e) => e.sender === w.puppet(ANNA) && /sticker was sent to WhatsApp as an image: it is not an image/.test(String(e.content.body)));
  });

  it("a Matrix mention of the contact goes out as WhatsApp writes one", async () => {
    await w.user.send(room, "m.room.message", {
      msgtype: "m.text",
      body: "Anna: ping",
      format: "org.matrix.custom.html",
      formatted_body: `<a href="https://matrix.to/#/${w.puppet(ANNA)}">Anna</a>: ping`,
      "m.mentions": { user_ids: [w.puppet(ANNA)] },
    });
    const got = await annaGot((c) => c.message?.extendedTextMessage?.text?.endsWith(": ping"), "the mention");
    assert.equal(got.content.message.extendedTextMessage.text, `@${ANNA.slice(1)}: ping`);
    assert.deepEqual(got.content.message.extendedTextMessage.contextInfo.mentionedJid, [`tel:${ANNA}`]);
  });

  it("a Matrix poll is a WhatsApp poll; votes cross both ways; its end is a text reply", async () => {
    const startId = await w.user.send(room, "m.poll.start", {
      "m.poll": { question: { "m.text": [{ body: "Where?" }] }, kind: "m.disclosed", max_selections: 2, answers: [{ "m.id": "park", "m.text": [{ body: "Park" }] }, { "m.id": "lake", "m.text": [{ body: "Lake" }] }, { "m.id": "home", "m.text": [{ body: "Home" }] }] },
      "m.text": [{ body: "Where?\n1. Park\n2. Lake\n3. Home" }],
    });
    const got = await annaGot((c) => c.message?.pollCreationMessage !== undefined, "the Matrix poll");
    const p = got.content.message.pollCreationMessage;
    assert.equal(p.name, "Where?");
    assert.deepEqual(p.options.map((o: Json) => o.optionName), ["Park", "Lake", "Home"]);
    assert.equal(p.selectableOptionsCount, 2);
    assert.equal(Buffer.from(got.content.message.messageContextInfo.messageSecret, "base64").length, 32);
    // The Matrix user votes (stable event type): Anna's phone opens it.
    await w.user.send(room, "m.poll.response", { "m.selections": ["lake", "park"], "m.relates_to": { rel_type: "m.reference", event_id: startId } });
    const vote = await annaGot((c) => c.pollVote?.poll === got.messageId, "the Matrix user's vote");
    assert.deepEqual(vote.content.pollVote.selected, ["Park", "Lake"]);
    // Anna votes in the Matrix user's poll: a stable response from her puppet.
    await w.gk.sendAs(ANNA, { to: w.userUri, vote: { poll: got.messageId, options: ["Home"] } });
    const response = await inRoom("Anna's vote", (e) => e.type === "m.poll.response" && e.sender === w.puppet(ANNA));
    assert.equal(response.sender, w.puppet(ANNA));
    assert.deepEqual(response.content["m.selections"], ["home"]);
    assert.equal(response.content["m.relates_to"].event_id, startId);
    // A vote Anna's phone seals for another poll ID cannot be placed: the admin API refuses it.
    await assert.rejects(w.gk.sendAs(ANNA, { to: w.userUri, vote: { poll: "0".repeat(32), options: [] } }));
    // WhatsApp has no poll end: the contact reads that the poll closed, as a reply to it.
    await w.user.send(room, "m.poll.end", { "m.relates_to": { rel_type: "m.reference", event_id: startId }, "m.text": [{ body: "The poll has ended" }] });
    const end = await annaGot((c) => c.message?.extendedTextMessage?.contextInfo?.stanzaId === got.messageId, "the poll's end");
    assert.equal(end.content.message.extendedTextMessage.text, "📊 Poll closed: Where?");
  });

  it("a vote taken back crosses both ways; a reply to a vote quotes the poll, a reaction lands on the vote", async () => {
    const startId = await w.user.send(room, "org.matrix.msc3381.poll.start", {
      "org.matrix.msc3381.poll.start": {
        question: { "org.matrix.msc1767.text": "Tea or coffee?" },
        kind: "org.matrix.msc3381.poll.disclosed",
        max_selections: 1,
        answers: [{ id: "tea", "org.matrix.msc1767.text": "Tea" }, { id: "coffee", "org.matrix.msc1767.text": "Coffee" }],
      },
      "org.matrix.msc1767.text": "Tea or coffee?\n1. Tea\n2. Coffee",
    });
    const poll = await annaGot((c) => c.message?.pollCreationMessage?.name === "Tea or coffee?", "the poll");
    const relation = { "m.relates_to": { rel_type: "m.reference", event_id: startId } };
    // The Matrix user votes, then redacts the vote: Anna's phone sees the vote, then a vote of nothing (§10.1.3).
    const voteId = await w.user.send(room, "org.matrix.msc3381.poll.response", { "org.matrix.msc3381.poll.response": { answers: ["coffee"] }, ...relation });
    const vote = await annaGot((c) => c.pollVote?.poll === poll.messageId, "the Matrix user's vote");
    assert.deepEqual(vote.content.pollVote.selected, ["Coffee"]);
    // Anna reacts to the vote and replies to it: the reaction is on the vote's event, the reply quotes the poll.
    await w.gk.sendAs(ANNA, { to: w.userUri, react: { id: vote.messageId, emoji: "☕" } });
    const reaction = await inRoom("Anna's reaction to the vote", (e) => e.type === "m.reaction" && e.sender === w.puppet(ANNA) && e.content["m.relates_to"]?.key === "☕");
    assert.equal(reaction.content["m.relates_to"].event_id, voteId);
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "coffee, really?", replyTo: vote.messageId });
    const reply = await inRoom("Anna's reply to the vote", (e) => e.content.body === "coffee, really?");
    assert.deepEqual(reply.content["m.relates_to"], { "m.in_reply_to": { event_id: startId } });
    await w.user.client.redactEvent(room, voteId);
    const back = await annaGot((c) => c.pollVote?.poll === poll.messageId && c.pollVote.selected?.length === 0, "the vote taken back");
    assert.notEqual(back.messageId, vote.messageId);
    assert.deepEqual(back.content.pollVote, { poll: poll.messageId, selected: [] });
    // Anna votes and takes her vote back on her phone: a response, then MSC3381's empty one (which unvotes).
    await w.gk.sendAs(ANNA, { to: w.userUri, vote: { poll: poll.messageId, options: ["Tea"] } });
    const hers = (e: { type: string; sender: string; content: Json }) => e.type === "org.matrix.msc3381.poll.response" && e.sender === w.puppet(ANNA) && e.content["m.relates_to"]?.event_id === startId;
    const tea = await inRoom("Anna's vote", (e) => hers(e) && e.content["org.matrix.msc3381.poll.response"].answers.length === 1);
    assert.deepEqual(tea.content["org.matrix.msc3381.poll.response"].answers, ["tea"]);
    await w.gk.sendAs(ANNA, { to: w.userUri, vote: { poll: poll.messageId, options: [] } });
    const none = await inRoom("Anna's vote taken back", (e) => hers(e) && e.content["org.matrix.msc3381.poll.response"].answers.length === 0);
    assert.notEqual(none.eventId, tea.eventId);
  });
});
