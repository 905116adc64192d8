// Compatibility: messages built exactly as WhatsApp's schema defines them (wa-wire.ts), wrappers and fields this
// project does not model included, decode to the intended kind and fields.
import assert from "node:assert/strict";
import { whatsAppCodec as codec } from "../../../src/networks/whatsapp/codec.js";
import { contentKind, decodeContent } from "../../../src/protocol/content.js";
import { unwrapMessage } from "../../../src/protocol/content-wrappers.js";
import type { Message } from "../../../src/protocol/gen/content_pb.js";
import { WA, waContent, waMediaFields, type WaField } from "./wa-wire.js";

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

  it("refuses wrappers stacked deeper than WhatsApp ever does, and a wrapper with nothing inside", () => {
    let m: WaField[] = [[M.conversation, "deep"]];
    for (let i = 0; i < 5; i++) m = [wrap(M.ephemeralMessage, m)];
    assert.equal(codec.decode(waContent(m)).kind, "unsupported");
    assert.throws(() => decodeContent(waContent([[M.ephemeralMessage, []]])), /is required in a wrapper/);
  });
});
