// Locations, contact cards, polls, pins, stickers, mentions, forwarded marks and link previews through the core,
// both ways, over the fake network.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import type { RemoteEvent } from "../../src/core/events.js";
import { readableCard } from "../../src/core/incoming/contact.js";
import { parseGeoUri } from "../../src/core/outgoing/kinds.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, FakeMediaPort, inboxEntry, newRemoteId, openAnnaPortal, sentEvents, type CoreWorld } from "./fakes.js";

const ROOM = "!portal:example.org";
let seq = 0;
function event(type: string, content: Record<string, unknown>, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  seq++;
  return { type, room_id: ROOM, sender: ALICE, event_id: `$k${seq}`, origin_server_ts: 1_800_000_000_000 + seq * 1000, content, ...extra };
}
const VCARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bob Builder\r\nitem1.TEL;waid=4915199999999;type=CELL:+49 151 99999999\r\nEMAIL:bob@example.org\r\nORG:Builders;Site\r\nEND:VCARD";

describe("core: more kinds of messages", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld({ directory: { [ANNA]: "Anna" }, media: new FakeMediaPort() });
    await openAnnaPortal(w, ROOM);
  });
  afterEach(async () => w.close());

  const deliver = async (ev: RemoteEvent, overrides: Partial<InboxEntry> = {}) => {
    const entry = inboxEntry(ev, overrides);
    await w.core.handleRemoteEntry(entry);
    return entry;
  };
  const last = () => w.matrix.events().at(-1)!;
  const mapOutgoing = async () => {
    const messageId = newRemoteId();
    const eventId = `$out-${messageId}`;
    await w.store.messages.put({ matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: ROOM, eventId, direction: "out", sender: `local:${ALICE}`, timestamp: 1 });
    return { messageId, eventId };
  };

  it("a location becomes m.location with a geo: URI and the MSC3488 fields", async () => {
    const entry = await deliver({ kind: "location", place: { latitude: 52.52, longitude: 13.405, name: "Fernsehturm", address: "Panoramastr. 1A", accuracyMeters: 10 }, live: false });
    const e = last();
    assert.equal(e.type, "m.room.message");
    assert.equal(e.roomId, ROOM);
    assert.deepEqual(e.content, {
      msgtype: "m.location",
      body: "📍 Location: Fernsehturm\nPanoramastr. 1A\ngeo:52.52,13.405;u=10",
      geo_uri: "geo:52.52,13.405;u=10",
      "org.matrix.msc3488.location": { uri: "geo:52.52,13.405;u=10", description: "Fernsehturm, Panoramastr. 1A" },
      "org.matrix.msc3488.asset": { type: "m.pin" },
      "org.matrix.msc3488.ts": entry.timestamp,
      "org.matrix.msc1767.text": "📍 Location: Fernsehturm\nPanoramastr. 1A\ngeo:52.52,13.405;u=10",
    });
    await deliver({ kind: "location", place: { latitude: -33.9, longitude: 151.2 }, live: true, caption: "on my way" });
    assert.equal(last().content.body, "📍 Live location\non my way\ngeo:-33.9,151.2");
    assert.deepEqual(last().content["org.matrix.msc3488.asset"], { type: "m.self" });
  });

  it("a contact card reads well and keeps its vCard", async () => {
    await deliver({ kind: "contact", cards: [{ name: "Bob", vcard: VCARD }] });
    assert.equal(last().content.body, "👤 Bob\n📞 +49 151 99999999 (cell)\n✉️ bob@example.org\n🏢 Builders, Site");
    assert.deepEqual(last().content["fi.mdb.vcard"], [VCARD]);
    assert.equal(readableCard({ name: "", vcard: "BEGIN:VCARD\nFN:Only Name\nEND:VCARD" }), "👤 Only Name");
  });

  it("a poll becomes an MSC3381 poll start with a text fallback", async () => {
    await deliver({ kind: "poll", question: "Lunch?", options: ["Pizza", "Sushi"], maxSelections: 1 });
    const e = last();
    assert.equal(e.type, "org.matrix.msc3381.poll.start");
    assert.deepEqual(e.content["org.matrix.msc3381.poll.start"], {
      question: { "org.matrix.msc1767.text": "Lunch?", body: "Lunch?" },
      kind: "org.matrix.msc3381.poll.disclosed",
      max_selections: 1,
      answers: [{ id: "1", "org.matrix.msc1767.text": "Pizza" }, { id: "2", "org.matrix.msc1767.text": "Sushi" }],
    });
    assert.equal(e.content.body, "📊 Lunch?\n1. Pizza\n2. Sushi");
  });

  it("pins and unpins follow into m.room.pinned_events, keeping other pins", async () => {
    const mine = await mapOutgoing();
    w.matrix.state.set(`${ROOM}|m.room.pinned_events|`, { pinned: ["$other"] });
    await deliver({ kind: "pin", targetId: mine.messageId, pinned: true });
    assert.deepEqual(w.matrix.state.get(`${ROOM}|m.room.pinned_events|`), { pinned: ["$other", mine.eventId] });
    await deliver({ kind: "pin", targetId: mine.messageId, pinned: false });
    assert.deepEqual(w.matrix.state.get(`${ROOM}|m.room.pinned_events|`), { pinned: ["$other"] });
    const states = w.matrix.called("sendState").length;
    await deliver({ kind: "pin", targetId: "3EB0UNKNOWN", pinned: true });
    assert.equal(w.matrix.called("sendState").length, states, "a pin of an unbridged message changes nothing");
  });

  it("a sticker is posted as m.sticker, without a msgtype", async () => {
    await deliver({ kind: "media", media: { network: "fake", value: {} }, what: "a sticker", sticker: true });
    const e = last();
    assert.equal(e.type, "m.sticker");
    assert.deepEqual(e.content, { body: "photo.jpg", url: "mxc://example.org/fake" });
  });

  it("mentions become m.mentions and pills, forwarded messages are marked, previews carried", async () => {
    await deliver({ kind: "message", text: "hey @4915112345678 look", mentions: [ANNA, `local:${ALICE}`, "elsewhere:42"], forwarded: true, preview: { url: "https://example.org/a", title: "A page" } });
    const c = last().content;
    assert.deepEqual(c["m.mentions"], { user_ids: [ANNA_PUPPET, ALICE] });
    assert.equal(c.body, "↪️ Forwarded\nhey @4915112345678 look");
    assert.equal(c.formatted_body, `<em>↪️ Forwarded</em><br>hey <a href="https://matrix.to/#/${ANNA_PUPPET}">~4915112345678</a> look`);
    assert.deepEqual(c["com.beeper.linkpreviews"], [{ matched_url: "https://example.org/a", "og:url": "https://example.org/a", "og:title": "A page" }]);
  });

  it("Matrix locations, stickers, mentions and previews go out; a poll without answers is refused with a reason", async () => {
    await w.core.handleMatrixEvent(event("m.room.message", { msgtype: "m.location", body: "Location", geo_uri: "geo:48.1,11.5;u=20", "org.matrix.msc3488.location": { uri: "geo:48.1,11.5;u=20", description: "Marienplatz" } }));
    await w.core.handleMatrixEvent(event("m.sticker", { body: "cat", url: "mxc://example.org/cat", info: { mimetype: "image/webp" } }));
    await w.core.handleMatrixEvent(event("m.room.message", {
      msgtype: "m.text",
      body: "Anna: see https://example.org/x",
      format: "org.matrix.custom.html",
      formatted_body: `<a href="https://matrix.to/#/${ANNA_PUPPET}">Anna</a>: see https://example.org/x`,
      "m.mentions": { user_ids: [ANNA_PUPPET, "@someone:else.org"] },
      "com.beeper.linkpreviews": [{ matched_url: "https://example.org/x", "og:title": "X", "og:description": "About x" }, { matched_url: "https://not.in/text" }],
    }));
    await w.core.handleMatrixEvent(event("org.matrix.msc3381.poll.start", { "org.matrix.msc3381.poll.start": { question: { body: "?" }, answers: [] } }));
    const sent = await sentEvents(w.store);
    assert.deepEqual(sent[0], { kind: "location", place: { latitude: 48.1, longitude: 11.5, accuracyMeters: 20, name: "Marienplatz" } });
    assert.equal(sent[1]?.kind, "media");
    assert.ok(sent[1]?.kind === "media" && sent[1].sticker === true);
    assert.deepEqual(sent[2], { kind: "message", text: "Anna: see https://example.org/x", emote: false, mentions: [ANNA], preview: { url: "https://example.org/x", title: "X", description: "About x" } });
    assert.equal(sent.length, 3);
    assert.match(w.matrix.notices().at(-1)!.body, /the poll has no answers/);
  });

  it("a Matrix sticker the media port can only send as an image goes as one, and the user reads why", async () => {
    const media = new FakeMediaPort();
    media.stickerAsImage = "it does not fit in WhatsApp's 100 KB sticker limit";
    await w.close();
    w = await coreWorld({ directory: { [ANNA]: "Anna" }, media });
    await openAnnaPortal(w, ROOM);
    await w.core.handleMatrixEvent(event("m.sticker", { body: "cat", url: "mxc://example.org/cat", info: { mimetype: "image/png" } }));
    const sent = await sentEvents(w.store);
    assert.equal(sent.length, 1);
    assert.ok(sent[0]?.kind === "media" && sent[0].sticker === undefined, "sent as an image, not flagged as a sticker");
    assert.equal(media.toRemoteCalls[0]?.content.url, "mxc://example.org/cat");
    assert.match(w.matrix.notices().at(-1)!.body, /sticker was sent to .* as an image: it does not fit in WhatsApp's 100 KB sticker limit/);
  });

  it("a Matrix live location (MSC3672) is answered with one notice when it starts, never sent and never silent", async () => {
    const start = event("org.matrix.msc3672.beacon_info", { description: "me", live: true, timeout: 60_000, "org.matrix.msc3488.asset": { type: "m.self" } }, { state_key: ALICE });
    await w.core.handleMatrixEvent(start);
    await w.core.handleMatrixEvent(event("org.matrix.msc3672.beacon", { "m.relates_to": { rel_type: "m.reference", event_id: start.event_id }, "org.matrix.msc3488.location": { uri: "geo:48.1,11.5;u=20" } }));
    await w.core.handleMatrixEvent(event("m.beacon", { "m.relates_to": { rel_type: "m.reference", event_id: start.event_id }, "org.matrix.msc3488.location": { uri: "geo:48.2,11.6" } }));
    await w.core.handleMatrixEvent(event("org.matrix.msc3672.beacon_info", { live: false }, { state_key: ALICE }));
    assert.deepEqual(await sentEvents(w.store), []);
    const notices = w.matrix.notices();
    assert.equal(notices.length, 1);
    assert.match(notices[0]!.body, /live location from Matrix is not bridged/);
  });

  it("the Matrix user's pin changes pin and unpin bridged messages", async () => {
    const a = await mapOutgoing();
    const b = await mapOutgoing();
    await w.core.handleMatrixEvent(event("m.room.pinned_events", { pinned: [a.eventId, "$unbridged"] }, { state_key: "", unsigned: { prev_content: { pinned: [b.eventId] } } }));
    const sent = await sentEvents(w.store);
    assert.deepEqual(sent, [
      { kind: "pin", target: { messageId: a.messageId, sender: `local:${ALICE}`, fromMe: true }, pinned: true },
      { kind: "pin", target: { messageId: b.messageId, sender: `local:${ALICE}`, fromMe: true }, pinned: false },
    ]);
  });

  it("a receipt from the user's own other device changes nothing on Matrix", async () => {
    const mine = await mapOutgoing();
    await deliver({ kind: "receipt", receipt: "read_self", messageIds: [mine.messageId] });
    assert.deepEqual(w.matrix.called("sendReadReceipt"), []);
    await deliver({ kind: "receipt", receipt: "read", messageIds: [mine.messageId] });
    assert.equal(w.matrix.called("sendReadReceipt").length, 1);
  });

  it("reads geo: URIs", () => {
    assert.deepEqual(parseGeoUri("geo:52.5,-13.4"), { latitude: 52.5, longitude: -13.4 });
    assert.deepEqual(parseGeoUri("geo:52.5,13.4,34;crs=wgs84;u=12.5"), { latitude: 52.5, longitude: 13.4, accuracyMeters: 12.5 });
    assert.equal(parseGeoUri("geo:91,0"), undefined);
    assert.equal(parseGeoUri("https://maps/x"), undefined);
  });
});
