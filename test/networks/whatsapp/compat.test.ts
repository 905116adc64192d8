// Compatibility: messages built exactly as WhatsApp's schema defines them (wa-wire.ts), wrappers and fields this
// project does not model included, decode to the intended kind and fields.
import assert from "node:assert/strict";
import { whatsAppCodec as codec } from "../../../src/networks/whatsapp/codec.js";
import { contentKind, decodeContent } from "../../../src/protocol/content.js";
import { unwrapMessage } from "../../../src/protocol/content-wrappers.js";
import type { Message } from "../../../src/protocol/gen/content_pb.js";
import { pad } from "../../../src/protocol/padding.js";
import { WA, waContent, waMediaFields, waMessage, type WaField } from "./wa-wire.js";
import { optionHash, sealVote } from "../../../src/protocol/poll-vote-crypto.js";

const M = WA.Message;
const WA_ID = "3EB0C431C26A1916E07E";
const ANNA_JID = "4915112345678@s.whatsapp.net";
const ANNA = "tel:+4915112345678";
/** What WhatsApp's clients put next to nearly every message (messageSecret for polls and reactions). */
const contextInfo35: WaField = [M.messageContextInfo, [[WA.MessageContextInfo.messageSecret, new Uint8Array(32).fill(3)]]];
const wrap = (field: number, inner: WaField[]): WaField => [field, [[WA.FutureProofMessage.message, inner]]];
const image = (extra: WaField[] = []): WaField => [M.imageMessage, [...waMediaFields(WA.ImageMessage, "image/jpeg"), [WA.ImageMessage.height, 10], [WA.ImageMessage.width, 20], ...extra]];

describe("WhatsApp compatibility: messages built by WhatsApp's schema", () => {
  it("a text in a disappearing chat (ephemeral_message around extended text with expiration) arrives as text", () => {
    const bytes = waContent([
      wrap(M.ephemeralMessage, [
        [M.extendedTextMessage, [[WA.ExtendedTextMessage.text, "see you"], [WA.ExtendedTextMessage.contextInfo, [[WA.ContextInfo.expiration, 604800], [WA.ContextInfo.ephemeralSettingTimestamp, 1_700_000_000]]]]],
      ]),
      contextInfo35,
    ]);
    const content = decodeContent(bytes);
    assert.equal(contentKind(content), "extended_text");
    const inner = unwrapMessage(content.message!);
    assert.equal(inner.ephemeral, true);
    assert.equal(inner.message.extendedTextMessage?.contextInfo?.expiration, 604800);
    const ev = codec.decode(bytes);
    assert.equal(ev.kind, "message");
    assert.ok(ev.kind === "message" && ev.text === "see you");
  });

  it("a timer change (EPHEMERAL_SETTING, no key) is the chat's new disappearing timer; messages say how long they live", () => {
    const ev = codec.decode(waContent([[M.protocolMessage, [[WA.ProtocolMessage.type, WA.ProtocolMessageType.EPHEMERAL_SETTING], [WA.ProtocolMessage.ephemeralExpiration, 86400], [WA.ProtocolMessage.ephemeralSettingTimestamp, 1_700_000_000]]]]));
    assert.deepEqual(ev, { kind: "disappearing_timer", seconds: 86400 });
    const off = codec.decode(waContent([[M.protocolMessage, [[WA.ProtocolMessage.type, WA.ProtocolMessageType.EPHEMERAL_SETTING]]]]));
    assert.deepEqual(off, { kind: "disappearing_timer", seconds: 0 });
    const msg = codec.decode(waContent([wrap(M.ephemeralMessage, [[M.extendedTextMessage, [[WA.ExtendedTextMessage.text, "x"], [WA.ExtendedTextMessage.contextInfo, [[WA.ContextInfo.expiration, 604800]]]]]])]));
    assert.deepEqual(msg, { kind: "message", text: "x", expiresInSeconds: 604800 });
  });

  it("plain conversation and media inside ephemeral_message arrive too", () => {
    assert.deepEqual(codec.decode(waContent([wrap(M.ephemeralMessage, [[M.conversation, "hello"]])])), { kind: "message", text: "hello" });
    const media = codec.decode(waContent([wrap(M.ephemeralMessage, [image([[WA.ImageMessage.caption, "look"]])]), contextInfo35]));
    assert.equal(media.kind, "media");
    assert.ok(media.kind === "media" && media.what === "an image");
    // The media bridge gets the plain image message, not the wrapper.
    assert.equal((media.kind === "media" ? (media.media.value as Message) : undefined)?.imageMessage?.caption, "look");
  });

  it("an edit inside edited_message (WhatsApp's newer form) is an edit of the WhatsApp-ID'd message", () => {
    const ev = codec.decode(waContent([
      wrap(M.editedMessage, [
        [M.protocolMessage, [
          [WA.ProtocolMessage.key, [[WA.MessageKey.remoteJID, ANNA_JID], [WA.MessageKey.fromMe, true], [WA.MessageKey.ID, WA_ID]]],
          [WA.ProtocolMessage.type, WA.ProtocolMessageType.MESSAGE_EDIT],
          [WA.ProtocolMessage.editedMessage, [[M.conversation, "fixed"]]],
          [WA.ProtocolMessage.timestampMS, 1_700_000_000_000],
        ]],
      ]),
    ]));
    assert.deepEqual(ev, { kind: "edit", targetId: WA_ID, text: "fixed" });
  });

  it("a captioned document inside document_with_caption_message is the document with its caption", () => {
    const bytes = waContent([
      wrap(M.documentWithCaptionMessage, [
        [M.documentMessage, [...waMediaFields(WA.DocumentMessage, "application/pdf"), [WA.DocumentMessage.fileName, "report.pdf"], [WA.DocumentMessage.title, "report"], [WA.DocumentMessage.pageCount, 3], [WA.DocumentMessage.caption, "the report"]]],
      ]),
      contextInfo35,
    ]);
    assert.equal(contentKind(decodeContent(bytes)), "document");
    const ev = codec.decode(bytes);
    assert.ok(ev.kind === "media" && ev.what === "a file");
    const doc = (ev.media.value as Message).documentMessage;
    assert.deepEqual([doc?.fileName, doc?.caption, doc?.pageCount], ["report.pdf", "the report", 3]);
  });

  it("view-once media in any of the three wrappers, or flagged itself, becomes a notice and is never posted", () => {
    const cases: [WaField[], string][] = [
      [[wrap(M.viewOnceMessageV2, [image([[WA.ImageMessage.viewOnce, true]])])], "a view-once photo"],
      [[wrap(M.viewOnceMessage, [[M.videoMessage, [...waMediaFields(WA.VideoMessage, "video/mp4"), [WA.VideoMessage.seconds, 4]]]])], "a view-once video"],
      [[wrap(M.viewOnceMessageV2Extension, [[M.audioMessage, [...waMediaFields(WA.AudioMessage, "audio/ogg"), [WA.AudioMessage.PTT, true]]]])], "a view-once voice message"],
      [[wrap(M.ephemeralMessage, [wrap(M.viewOnceMessageV2, [image()])])], "a view-once photo"],
      [[image([[WA.ImageMessage.viewOnce, true]])], "a view-once photo"],
    ];
    for (const [message, what] of cases) {
      const ev = codec.decode(waContent(message));
      assert.equal(ev.kind, "unsupported", what);
      assert.ok(ev.kind === "unsupported" && ev.what.startsWith(what), ev.kind === "unsupported" ? ev.what : "");
    }
  });

  it("a reply quoting a WhatsApp-ID'd message by a JID participant keeps the quote", () => {
    const ev = codec.decode(waContent([
      [M.extendedTextMessage, [
        [WA.ExtendedTextMessage.text, "yes!"],
        [WA.ExtendedTextMessage.contextInfo, [[WA.ContextInfo.stanzaID, WA_ID], [WA.ContextInfo.participant, ANNA_JID], [WA.ContextInfo.quotedMessage, [[M.conversation, "coming?"]]]]],
      ]],
      contextInfo35,
    ]));
    assert.deepEqual(ev, { kind: "message", text: "yes!", replyTo: { messageId: WA_ID, quotedText: "coming?" } });
  });

  it("a reaction to a WhatsApp-ID'd message keyed by JID is a reaction", () => {
    const ev = codec.decode(waContent([
      [M.reactionMessage, [[WA.ReactionMessage.key, [[WA.MessageKey.remoteJID, ANNA_JID], [WA.MessageKey.fromMe, false], [WA.MessageKey.ID, WA_ID]]], [WA.ReactionMessage.text, "❤️"], [WA.ReactionMessage.senderTimestampMS, 1_700_000_000_000]]],
    ]));
    assert.deepEqual(ev, { kind: "reaction", targetId: WA_ID, emoji: "❤️" });
    const content = decodeContent(waContent([[M.reactionMessage, [[WA.ReactionMessage.key, [[WA.MessageKey.remoteJID, ANNA_JID], [WA.MessageKey.ID, WA_ID]]], [WA.ReactionMessage.text, "x"]]]]));
    assert.equal(content.message?.reactionMessage?.key?.remoteJid, ANNA);
  });

  it("a sticker and a video note are media, the sticker marked as one", () => {
    const sticker = codec.decode(waContent([[M.stickerMessage, [...waMediaFields(WA.StickerMessage, "image/webp"), [WA.StickerMessage.width, 512], [WA.StickerMessage.height, 512], [WA.StickerMessage.isAnimated, true], [WA.StickerMessage.pngThumbnail, new Uint8Array(8)]]], contextInfo35]));
    assert.ok(sticker.kind === "media" && sticker.sticker === true && sticker.what === "a sticker");
    assert.equal((sticker.media.value as Message).stickerMessage?.width, 512);
    const ptv = codec.decode(waContent([[M.ptvMessage, [...waMediaFields(WA.VideoMessage, "video/mp4"), [WA.VideoMessage.seconds, 9]]]]));
    assert.ok(ptv.kind === "media" && ptv.what === "a video note" && !ptv.sticker);
    assert.equal(contentKind(decodeContent(waContent([[M.ptvMessage, waMediaFields(WA.VideoMessage, "video/mp4")]]))), "video_note");
  });

  it("a location, a live location, contact cards, a poll, a vote and a pin decode to their kinds", () => {
    const loc = codec.decode(waContent([[M.locationMessage, [[WA.LocationMessage.degreesLatitude, { double: 52.52 }], [WA.LocationMessage.degreesLongitude, { double: 13.405 }], [WA.LocationMessage.name, "Fernsehturm"], [WA.LocationMessage.address, "Berlin"], [WA.LocationMessage.JPEGThumbnail, new Uint8Array(4)]]]]));
    assert.deepEqual(loc, { kind: "location", place: { latitude: 52.52, longitude: 13.405, name: "Fernsehturm", address: "Berlin" }, live: false });
    const live = codec.decode(waContent([[M.liveLocationMessage, [[WA.LiveLocationMessage.degreesLatitude, { double: -33.9 }], [WA.LiveLocationMessage.degreesLongitude, { double: 151.2 }], [WA.LiveLocationMessage.accuracyInMeters, 5], [WA.LiveLocationMessage.speedInMps, { float: 1.5 }], [WA.LiveLocationMessage.sequenceNumber, 3], [WA.LiveLocationMessage.caption, "walking"]]]]));
    assert.deepEqual(live, { kind: "location", place: { latitude: -33.9, longitude: 151.2, accuracyMeters: 5 }, live: true, caption: "walking" });
    const vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=4915199999999:+49 151 99999999\nEND:VCARD";
    assert.deepEqual(codec.decode(waContent([[M.contactMessage, [[WA.ContactMessage.displayName, "Bob"], [WA.ContactMessage.vcard, vcard]]]])), { kind: "contact", cards: [{ name: "Bob", vcard }] });
    const two = codec.decode(waContent([[M.contactsArrayMessage, [[WA.ContactsArrayMessage.displayName, "2 contacts"], [WA.ContactsArrayMessage.contacts, [[WA.ContactMessage.displayName, "A"], [WA.ContactMessage.vcard, "BEGIN:VCARD\nFN:A\nEND:VCARD"]]], [WA.ContactsArrayMessage.contacts, [[WA.ContactMessage.displayName, "B"], [WA.ContactMessage.vcard, "BEGIN:VCARD\nFN:B\nEND:VCARD"]]]]]]));
    assert.ok(two.kind === "contact" && two.cards.map((c) => c.name).join() === "A,B");
    for (const field of [M.pollCreationMessage, M.pollCreationMessageV2, M.pollCreationMessageV3]) {
      const poll = codec.decode(waContent([[field, [[WA.PollCreationMessage.encKey, new Uint8Array(32).fill(1)], [WA.PollCreationMessage.name, "Lunch?"], [WA.PollCreationMessage.options, [[WA.PollOption.optionName, "Pizza"]]], [WA.PollCreationMessage.options, [[WA.PollOption.optionName, "Sushi"]]], [WA.PollCreationMessage.selectableOptionsCount, 1]]], contextInfo35]));
      // The secret beside the message (messageContextInfo) is the one WhatsApp's apps seal votes with.
      assert.deepEqual(poll, { kind: "poll", question: "Lunch?", options: ["Pizza", "Sushi"], maxSelections: 1, secret: new Uint8Array(32).fill(3) });
    }
    const keys = { pollMessageId: WA_ID, creator: ANNA, secret: new Uint8Array(32).fill(3), options: ["Pizza", "Sushi"] };
    const sealed = sealVote({ pollMessageId: WA_ID, pollCreator: ANNA, voter: ANNA, secret: keys.secret }, [optionHash("Sushi")]);
    const vote = codec.decode(waContent([[M.pollUpdateMessage, [[WA.PollUpdateMessage.pollCreationMessageKey, [[WA.MessageKey.ID, WA_ID]]], [WA.PollUpdateMessage.vote, [[WA.PollEncValue.encPayload, sealed.encPayload], [WA.PollEncValue.encIV, sealed.encIv]]]]]]));
    assert.ok(vote.kind === "poll_vote" && vote.pollId === WA_ID);
    assert.deepEqual(codec.openVote!(vote.vote, keys, ANNA), { ok: true, selected: [1], unknown: 0 });
    assert.deepEqual(codec.openVote!(vote.vote, keys, "tel:+4915199999999").ok, false);
    const pin = codec.decode(waContent([[M.pinInChatMessage, [[WA.PinInChatMessage.key, [[WA.MessageKey.remoteJID, ANNA_JID], [WA.MessageKey.ID, WA_ID]]], [WA.PinInChatMessage.type, WA.PinType.PIN_FOR_ALL], [WA.PinInChatMessage.senderTimestampMS, 1_700_000_000_000]]]]));
    assert.deepEqual(pin, { kind: "pin", targetId: WA_ID, pinned: true });
    const unpin = codec.decode(waContent([[M.pinInChatMessage, [[WA.PinInChatMessage.key, [[WA.MessageKey.ID, WA_ID]]], [WA.PinInChatMessage.type, WA.PinType.UNPIN_FOR_ALL]]]]));
    assert.deepEqual(unpin, { kind: "pin", targetId: WA_ID, pinned: false });
  });

  it("mentions by JID, the forwarded flag and a link preview come with the text", () => {
    const ev = codec.decode(waContent([
      [M.extendedTextMessage, [
        [WA.ExtendedTextMessage.text, "@4915112345678 see https://example.org"],
        [WA.ExtendedTextMessage.matchedText, "https://example.org"],
        [WA.ExtendedTextMessage.title, "Example"],
        [WA.ExtendedTextMessage.description, "An example page"],
        [WA.ExtendedTextMessage.previewType, 0],
        [WA.ExtendedTextMessage.JPEGThumbnail, new Uint8Array(16)],
        [WA.ExtendedTextMessage.contextInfo, [[WA.ContextInfo.mentionedJID, ANNA_JID], [WA.ContextInfo.mentionedJID, "120363@g.us"], [WA.ContextInfo.forwardingScore, 2], [WA.ContextInfo.isForwarded, true]]],
      ]],
    ]));
    assert.deepEqual({ ...ev, dropped: undefined }, {
      kind: "message",
      text: "@4915112345678 see https://example.org",
      mentions: [ANNA],
      forwarded: true,
      preview: { url: "https://example.org", title: "Example", description: "An example page" },
      dropped: undefined,
    });
    assert.equal(ev.dropped?.length, 1, "the group JID is no user and is dropped on its own");
  });

  it("receipts of WhatsApp's read-self, played-self and inactive kinds have a meaning", () => {
    const receipt = (type: number) => codec.decode(pad(waMessage([[2, [[1, type], [2, WA_ID], [3, 1_700_000_000_000]]]]), 1));
    assert.deepEqual(receipt(3), { kind: "receipt", receipt: "read_self", messageIds: [WA_ID] });
    assert.deepEqual(receipt(4), { kind: "receipt", receipt: "played_self", messageIds: [WA_ID] });
    assert.deepEqual(receipt(5), { kind: "receipt", receipt: "delivered", messageIds: [WA_ID] });
    assert.equal(receipt(9).kind, "unsupported", "a receipt type nobody defined is still refused");
  });

  it("refuses wrappers stacked deeper than WhatsApp ever does, and a wrapper with nothing inside", () => {
    let m: WaField[] = [[M.conversation, "deep"]];
    for (let i = 0; i < 5; i++) m = [wrap(M.ephemeralMessage, m)];
    assert.equal(codec.decode(waContent(m)).kind, "unsupported");
    assert.throws(() => decodeContent(waContent([[M.ephemeralMessage, []]])), /is required in a wrapper/);
  });
});
