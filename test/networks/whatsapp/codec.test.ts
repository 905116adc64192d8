// WhatsApp's content protobuf <-> the core's events: every kind both ways, and what cannot be read or sent.
import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import type { OutgoingEvent } from "../../../src/core/events.js";
import { TEXT_MAX_BYTES, whatsAppCodec as codec } from "../../../src/networks/whatsapp/codec.js";
import { stripReplyFallback } from "../../../src/networks/whatsapp/formatting/reply-fallback.js";
import { whatsAppDialect, whatsAppIds, whatsAppMedia } from "../../../src/networks/whatsapp/index.js";
import { decodeContent, encodeContent } from "../../../src/protocol/content.js";
import { editContent, reactionContent, revokeContent, textContent } from "../../../src/protocol/content-builders.js";
import { ContentSchema } from "../../../src/protocol/gen/content_pb.js";
import { pad } from "../../../src/protocol/padding.js";

const ANNA = "tel:+4915112345678";
const ID = "A".repeat(32);
const chat = { contact: ANNA, nowMs: 5 };
const hash = new Uint8Array(32).fill(2);
const image = { mimetype: "image/png", caption: "c", mediaKey: new Uint8Array(32).fill(1), fileSha256: hash, fileEncSha256: hash, directPath: "/v1/media/x", fileLength: 10n };
const sent = (ev: OutgoingEvent) => {
  const out = codec.encode(ev, chat);
  assert.ok(out.ok, out.ok ? "" : out.reason);
  return decodeContent(out.bytes);
};

describe("WhatsApp codec", () => {
  it("encodes text, emotes and replies as WhatsApp messages", () => {
    assert.equal(sent({ kind: "message", text: "hi", emote: false }).message?.conversation, "hi");
    assert.equal(sent({ kind: "message", text: "waves", emote: true }).message?.conversation, "/me waves");
    const reply = sent({ kind: "message", text: "answer", emote: false, replyTo: { messageId: ID, sender: ANNA, fromMe: false } }).message?.extendedTextMessage;
    assert.equal(reply?.text, "answer");
    assert.deepEqual([reply?.contextInfo?.stanzaId, reply?.contextInfo?.participant], [ID, ANNA]);
  });

  it("keys edits, deletes and reactions by the message, with fromMe as who wrote it", () => {
    const mine = { messageId: ID, sender: "matrix:u/a:x", fromMe: true };
    const edit = sent({ kind: "edit", target: mine, text: "new" }).message?.protocolMessage;
    assert.deepEqual([edit?.editedMessage?.conversation, edit?.key?.id, edit?.key?.remoteJid, edit?.key?.fromMe], ["new", ID, ANNA, true]);
    assert.equal(sent({ kind: "delete", target: mine }).message?.protocolMessage?.key?.id, ID);
    const reaction = sent({ kind: "reaction", target: { ...mine, fromMe: false }, emoji: "👍" }).message?.reactionMessage;
    assert.deepEqual([reaction?.text, reaction?.key?.fromMe], ["👍", false]);
    assert.equal(sent({ kind: "reaction", target: mine, emoji: "" }).message?.reactionMessage?.text, "");
  });

  it("encodes receipts, typing and media", () => {
    assert.deepEqual(sent({ kind: "receipt", receipt: "read", messageIds: [ID] }).receipt?.messageIds, [ID]);
    assert.equal(sent({ kind: "typing", typing: true }).chatState?.state, 0);
    assert.equal(sent({ kind: "typing", typing: false }).chatState?.state, 1);
    assert.equal(sent({ kind: "media", media: whatsAppMedia({ imageMessage: image }) }).message?.imageMessage?.caption, "c");
    assert.equal(codec.encode({ kind: "media", media: { network: "mimi", value: {} } }, chat).ok, false);
    const broken = codec.encode({ kind: "media", media: whatsAppMedia({ imageMessage: { ...image, mediaKey: new Uint8Array(3) } }) }, chat);
    assert.ok(!broken.ok && /cannot be sent in a form WhatsApp accepts/.test(broken.reason), "refused, not thrown");
  });

  it("wraps messages of a disappearing chat as WhatsApp does and encodes timer changes", () => {
    const timed = (ev: OutgoingEvent) => {
      const out = codec.encode(ev, { ...chat, disappearingSeconds: 86400 });
      assert.ok(out.ok, out.ok ? "" : out.reason);
      return decodeContent(out.bytes).message;
    };
    const text = timed({ kind: "message", text: "hi", emote: false })?.ephemeralMessage?.message?.extendedTextMessage;
    assert.deepEqual([text?.text, text?.contextInfo?.expiration], ["hi", 86400]);
    const img = timed({ kind: "media", media: whatsAppMedia({ imageMessage: image }) })?.ephemeralMessage?.message?.imageMessage;
    assert.deepEqual([img?.caption, img?.contextInfo?.expiration], ["c", 86400]);
    assert.equal(timed({ kind: "reaction", target: { messageId: ID, sender: ANNA, fromMe: false }, emoji: "x" })?.reactionMessage?.text, "x", "reactions are not wrapped");
    const setting = sent({ kind: "disappearing_timer", seconds: 604800 }).message?.protocolMessage;
    assert.deepEqual([setting?.type, setting?.ephemeralExpiration, setting?.ephemeralSettingTimestamp], [3, 604800, 0n]);
    const roundTrip = codec.encode({ kind: "message", text: "x", emote: false }, { ...chat, disappearingSeconds: 60 });
    assert.ok(roundTrip.ok);
    assert.deepEqual(codec.decode(roundTrip.bytes), { kind: "message", text: "x", expiresInSeconds: 60 });
  });

  it("encodes locations, pins, mentions, previews and WebP stickers in WhatsApp's fields", () => {
    const loc = sent({ kind: "location", place: { latitude: 48.1, longitude: 11.5, name: "Marienplatz", accuracyMeters: 20 } }).message?.locationMessage;
    assert.deepEqual([loc?.degreesLatitude, loc?.degreesLongitude, loc?.name, loc?.accuracyInMeters], [48.1, 11.5, "Marienplatz", 20]);
    const pin = sent({ kind: "pin", target: { messageId: ID, sender: ANNA, fromMe: false }, pinned: true }).message?.pinInChatMessage;
    assert.deepEqual([pin?.key?.id, pin?.key?.remoteJid, pin?.type], [ID, ANNA, 1]);
    assert.equal(sent({ kind: "pin", target: { messageId: ID, sender: ANNA, fromMe: true }, pinned: false }).message?.pinInChatMessage?.type, 2);
    const text = sent({ kind: "message", text: "@4915112345678 https://x.org", emote: false, mentions: [ANNA], preview: { url: "https://x.org", title: "X" } }).message?.extendedTextMessage;
    assert.deepEqual([text?.contextInfo?.mentionedJid, text?.matchedText, text?.title], [[ANNA], "https://x.org", "X"]);
    const webp = sent({ kind: "media", media: whatsAppMedia({ imageMessage: { ...image, mimetype: "image/webp", width: 512, height: 512 } }), sticker: true }).message;
    assert.deepEqual([webp?.stickerMessage?.mimetype, webp?.stickerMessage?.width, webp?.imageMessage], ["image/webp", 512, undefined]);
    const png = sent({ kind: "media", media: whatsAppMedia({ imageMessage: image }), sticker: true }).message;
    assert.ok(png?.imageMessage && !png.stickerMessage, "a sticker that is no WebP goes as the image it is");
  });

  it("refuses a text too long for one message, with both numbers", () => {
    assert.ok(codec.encode({ kind: "message", text: "x".repeat(TEXT_MAX_BYTES), emote: false }, chat).ok);
    const long = codec.encode({ kind: "message", text: "x".repeat(TEXT_MAX_BYTES + 1), emote: false }, chat);
    assert.ok(!long.ok);
    assert.equal(long.reason, `the message is too long to send (${TEXT_MAX_BYTES + 1} characters; at most about ${TEXT_MAX_BYTES} fit in one message)`);
    const wide = codec.encode({ kind: "edit", target: { messageId: ID, sender: ANNA, fromMe: true }, text: "語".repeat(TEXT_MAX_BYTES / 2) }, chat);
    assert.ok(!wide.ok && /^the edited text is too long to send \(\d+ characters; at most about \d+ fit/.test(wide.reason));
  });

  it("decodes every content kind", () => {
    const key = { id: ID, remoteJid: "matrix:u/a:x", fromMe: false };
    const decode = (c: Parameters<typeof encodeContent>[0]) => codec.decode(encodeContent(c));
    assert.deepEqual(decode(textContent("hi")), { kind: "message", text: "hi" });
    assert.deepEqual(decode(textContent("re", { stanzaId: ID, participant: "matrix:u/a:x" })), { kind: "message", text: "re", replyTo: { messageId: ID } });
    assert.deepEqual(decode(reactionContent(key, "❤️", 1n)), { kind: "reaction", targetId: ID, emoji: "❤️" });
    assert.deepEqual(decode(editContent(key, "new", 1n)), { kind: "edit", targetId: ID, text: "new" });
    assert.deepEqual(decode(revokeContent(key, 1n)), { kind: "delete", targetId: ID });
    assert.equal(decode(create(ContentSchema, { message: { imageMessage: image } })).kind, "media");
    assert.equal(decode(create(ContentSchema, { message: {} })).kind, "unsupported");
  });

  it("passes what it had to leave out of a message on for the log, and the message on as it stands", () => {
    const bytes = pad(toBinary(ContentSchema, create(ContentSchema, { message: { extendedTextMessage: { text: "re", contextInfo: { stanzaId: "bad id", quotedMessage: { conversation: "q" } } } } })), 1);
    const ev = codec.decode(bytes);
    assert.equal(ev.kind, "message");
    assert.ok(ev.kind === "message" && ev.text === "re" && ev.replyTo === undefined);
    assert.equal(ev.dropped?.length, 1);
    assert.match(ev.dropped[0]!, /stanza_id/);
    assert.equal(codec.decode(encodeContent(textContent("hi"))).dropped, undefined);
  });

  it("turns what cannot be read into 'unsupported', naming it, never throwing", () => {
    assert.deepEqual(codec.decode(new Uint8Array()), { kind: "unsupported", what: "a message that could not be decrypted" });
    const junk = codec.decode(new Uint8Array([0xff, 0xff, 0xff, 0x01]));
    assert.equal(junk.kind, "unsupported");
    assert.ok(junk.kind === "unsupported" && junk.what === "an unreadable message" && junk.detail);
  });
});

describe("WhatsApp identities and markup", () => {
  it("reads phone numbers in any common spelling and names puppets by E.164", () => {
    assert.equal(whatsAppIds.parse("0049 151-123 456 78"), ANNA);
    assert.equal(whatsAppIds.parse("0151 12345678", "DE"), ANNA);
    assert.throws(() => whatsAppIds.parse("hello"), /not a phone number I can use/);
    assert.equal(whatsAppIds.puppetKey(ANNA), "+4915112345678");
    assert.equal(whatsAppIds.fromPuppetKey("4915112345678"), ANNA);
    assert.equal(whatsAppIds.fromPuppetKey("12"), null);
    assert.equal(whatsAppIds.label(ANNA), "+49 1511 2345678");
    assert.equal(whatsAppIds.isContact(ANNA), true);
    assert.equal(whatsAppIds.isContact("matrix:u/a:x"), false);
    assert.equal(whatsAppIds.localUser("@a:x"), "matrix:u/a:x");
  });

  it("strips reply fallbacks on the way out and quotes inline on the way in", () => {
    assert.equal(stripReplyFallback("> <@b:x> quoted\n> more\n\nanswer"), "answer");
    assert.equal(whatsAppDialect.fromMatrix({ body: "> <@b:x> q\n\nanswer" }), "answer");
    assert.equal(whatsAppDialect.withQuote("one\ntwo", "reply"), "> one\n> two\n\nreply");
  });
});
