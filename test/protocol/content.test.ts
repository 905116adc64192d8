import assert from "node:assert/strict";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { contentKind, decodeContent, encodeContent, type ContentKind } from "../../src/protocol/content.js";
import {
  chatStateContent,
  ChatStateKind,
  editContent,
  reactionContent,
  receiptContent,
  ReceiptType,
  revokeContent,
  textContent,
} from "../../src/protocol/content-builders.js";
import { ContentSchema, ProtocolMessage_Type } from "../../src/protocol/gen/content_pb.js";
import { ProtocolError, type ProtocolErrorCode } from "../../src/protocol/errors.js";
import { MAX_CONTENT_BYTES } from "../../src/protocol/limits.js";
import { pad } from "../../src/protocol/padding.js";
import { BOB, ID_STRING } from "./fixtures.js";

type ContentInit = MessageInitShape<typeof ContentSchema>;

function rejects(fn: () => unknown, code: ProtocolErrorCode, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

/** Content bytes built without our validation, padded with one byte. */
const raw = (init: ContentInit) => pad(toBinary(ContentSchema, create(ContentSchema, init)), 1);

const hash = new Uint8Array(32).fill(0xab);
const media = { mediaKey: new Uint8Array(32).fill(1), fileSha256: hash, fileEncSha256: hash, directPath: "/v1/media/x", fileLength: 10n };
const ref = { id: ID_STRING, remoteJid: BOB, fromMe: false };

describe("content codec", () => {
  const kinds: [ContentInit, ContentKind][] = [
    [{ message: { conversation: "hi" } }, "text"],
    [{ message: { extendedTextMessage: { text: "hi", contextInfo: { stanzaId: ID_STRING, participant: BOB, quotedMessage: { conversation: "q" } } } } }, "extended_text"],
    [{ message: { imageMessage: { ...media, mimetype: "image/png", width: 1, height: 1 } } }, "image"],
    [{ message: { videoMessage: { ...media, seconds: 3 } } }, "video"],
    [{ message: { audioMessage: { ...media, ptt: true } } }, "audio"],
    [{ message: { documentMessage: { ...media, fileName: "a.pdf" } } }, "document"],
    [{ message: { reactionMessage: { key: ref, text: "❤️" } } }, "reaction"],
    [{ message: { reactionMessage: { key: ref, text: "" } } }, "reaction"],
    [{ message: { protocolMessage: { key: ref, type: ProtocolMessage_Type.REVOKE } } }, "revoke"],
    [{ message: { protocolMessage: { key: ref, type: ProtocolMessage_Type.MESSAGE_EDIT, editedMessage: { conversation: "new" } } } }, "edit"],
    [{ message: { protocolMessage: { key: ref, type: 7 as ProtocolMessage_Type } } }, "unknown"],
    [{ receipt: { type: ReceiptType.PLAYED, messageIds: [ID_STRING] } }, "receipt"],
    [{ chatState: { state: ChatStateKind.PAUSED } }, "chat_state"],
    [{ message: {} }, "unknown"],
  ];
  for (const [init, kind] of kinds) {
    it(`round-trips ${kind} content`, () => {
      for (const padding of [1, 15, undefined]) {
        const bytes = encodeContent(init, padding === undefined ? {} : { padding });
        const decoded = decodeContent(bytes);
        assert.equal(contentKind(decoded), kind);
        assert.deepEqual(toBinary(ContentSchema, decoded), toBinary(ContentSchema, create(ContentSchema, init)));
      }
    });
  }

  it("shows a message kind from a later revision as unknown, keeping its bytes", () => {
    // Message field 99 (a kind we do not know) carrying an empty sub-message.
    const bytes = pad(Uint8Array.from([0x0a, 0x03, 0x9a, 0x06, 0x00]), 2);
    const decoded = decodeContent(bytes);
    assert.equal(contentKind(decoded), "unknown");
    assert.equal(decoded.message?.$unknown?.length, 1);
  });

  it("requires exactly one of message, receipt and chat state", () => {
    rejects(() => decodeContent(raw({})), "invalid_field", "content");
    rejects(() => decodeContent(raw({ message: { conversation: "x" }, receipt: { messageIds: [ID_STRING] } })), "invalid_field", "content");
    rejects(() => encodeContent({}), "invalid_field", "content");
  });

  it("rejects a message with two kinds at once", () => {
    rejects(() => decodeContent(raw({ message: { conversation: "x", reactionMessage: { key: ref } } })), "invalid_field", "message");
  });

  it("checks message IDs, URIs and media fields", () => {
    rejects(() => decodeContent(raw({ message: { reactionMessage: { key: { ...ref, id: "not an ID" } } } })), "invalid_field", "message.reaction_message.key.id");
    rejects(() => decodeContent(raw({ message: { reactionMessage: { key: { ...ref, id: "" } } } })), "invalid_field", "message.reaction_message.key.id");
    rejects(() => decodeContent(raw({ message: { reactionMessage: { text: "x" } } })), "invalid_field", "message.reaction_message.key");
    // Decoding drops an unusable URI (content-tolerance.test.ts); a sender must not build one.
    rejects(() => encodeContent({ message: { reactionMessage: { key: { ...ref, remoteJid: "bob" } } } }), "invalid_field", "message.reaction_message.key.remote_jid");
    rejects(() => decodeContent(raw({ message: { reactionMessage: { key: ref, text: "x".repeat(65) } } })), "invalid_field", "message.reaction_message.text");
    rejects(() => decodeContent(raw({ message: { imageMessage: { ...media, mediaKey: new Uint8Array(31) } } })), "invalid_field", "message.image_message.media_key");
    rejects(() => decodeContent(raw({ message: { videoMessage: { ...media, fileSha256: new Uint8Array(0) } } })), "invalid_field", "message.video_message.file_sha256");
    rejects(() => decodeContent(raw({ message: { audioMessage: { ...media, fileEncSha256: new Uint8Array(33) } } })), "invalid_field", "message.audio_message.file_enc_sha256");
    rejects(() => decodeContent(raw({ message: { documentMessage: { ...media, directPath: "" } } })), "invalid_field", "message.document_message");
    rejects(() => decodeContent(raw({ message: { extendedTextMessage: { text: "" } } })), "invalid_field", "message.extended_text_message.text");
    rejects(() => encodeContent({ message: { extendedTextMessage: { text: "a", contextInfo: { stanzaId: "1 2", participant: BOB } } } }), "invalid_field", "message.extended_text_message.context_info.stanza_id");
    rejects(() => encodeContent({ message: { extendedTextMessage: { text: "a", contextInfo: { participant: "x" } } } }), "invalid_field", "message.extended_text_message.context_info.participant");
    rejects(() => encodeContent({ message: { extendedTextMessage: { text: "a", contextInfo: { quotedMessage: { conversation: "q" } } } } }), "invalid_field", "message.extended_text_message.context_info.stanza_id");
  });

  it("checks edits and revokes", () => {
    rejects(() => decodeContent(raw({ message: { protocolMessage: { key: ref, type: ProtocolMessage_Type.MESSAGE_EDIT } } })), "invalid_field", "message.protocol_message.edited_message");
    rejects(() => decodeContent(raw({ message: { protocolMessage: { key: ref, type: ProtocolMessage_Type.REVOKE, editedMessage: { conversation: "x" } } } })), "invalid_field", "message.protocol_message.edited_message");
    rejects(() => decodeContent(raw({ message: { protocolMessage: { key: ref, type: ProtocolMessage_Type.MESSAGE_EDIT, editedMessage: { reactionMessage: { key: ref } } } } })), "invalid_field", "message.protocol_message.edited_message");
    rejects(() => decodeContent(raw({ message: { protocolMessage: { type: ProtocolMessage_Type.REVOKE } } })), "invalid_field", "message.protocol_message.key");
  });

  it("limits how deep quotes nest", () => {
    let quoted: ContentInit["message"] = { conversation: "bottom" };
    for (let i = 0; i < 5; i++) quoted = { extendedTextMessage: { text: `level ${i}`, contextInfo: { stanzaId: ID_STRING, quotedMessage: quoted } } };
    rejects(() => encodeContent({ message: quoted }), "invalid_field");
  });

  it("rejects deeply nested input at the parser's recursion limit, before validation", () => {
    // 300 levels of Message.extended_text_message.context_info.quoted_message, built by hand.
    let inner = Uint8Array.from([0x0a, 0x01, 0x78]); // Message{conversation:"x"}
    for (let i = 0; i < 300; i++) {
      const ctx = Uint8Array.from([0x1a, ...varint(inner.length), ...inner]); // ContextInfo{quoted_message}
      const ext = Uint8Array.from([0x8a, 0x01, ...varint(ctx.length), ...ctx]); // ExtendedText{context_info}
      inner = Uint8Array.from([0x32, ...varint(ext.length), ...ext]); // Message{extended_text_message}
    }
    rejects(() => decodeContent(pad(Uint8Array.from([0x0a, ...varint(inner.length), ...inner]), 1)), "malformed");
  });

  it("checks receipts and chat states", () => {
    rejects(() => decodeContent(raw({ receipt: { messageIds: [] } })), "invalid_field", "receipt.message_ids");
    rejects(() => decodeContent(raw({ receipt: { messageIds: ["no ID"] } })), "invalid_field", "receipt.message_ids[0]");
    rejects(() => decodeContent(raw({ receipt: { messageIds: new Array(1025).fill(ID_STRING) } })), "invalid_field", "receipt.message_ids");
    rejects(() => decodeContent(raw({ receipt: { type: 9 as ReceiptType, messageIds: [ID_STRING] } })), "invalid_field", "receipt.type");
    rejects(() => decodeContent(raw({ chatState: { state: 4 as ChatStateKind } })), "invalid_field", "chat_state.state");
  });

  it("rejects bad padding, truncation and oversized input", () => {
    const good = encodeContent({ message: { conversation: "hello" } }, { padding: 4 });
    rejects(() => decodeContent(good.subarray(0, good.length - 1)), "malformed"); // last byte 4, but only 3 fours
    rejects(() => decodeContent(Uint8Array.from([...good.subarray(0, good.length - 4), 0])), "malformed");
    rejects(() => decodeContent(new Uint8Array(0)), "truncated");
    rejects(() => decodeContent(pad(Uint8Array.from([0x0a, 0x10, 0x0a]), 1)), "truncated");
    rejects(() => decodeContent(new Uint8Array(MAX_CONTENT_BYTES + 1).fill(1)), "oversized");
    rejects(() => encodeContent({ message: { conversation: "x".repeat(MAX_CONTENT_BYTES) } }), "oversized");
  });
});

describe("content builders", () => {
  it("build the contents the bridge sends", () => {
    assert.equal(contentKind(decodeContent(encodeContent(textContent("hi")))), "text");
    const reply = decodeContent(encodeContent(textContent("yes", { stanzaId: ID_STRING, participant: BOB })));
    assert.equal(contentKind(reply), "extended_text");
    assert.equal(reply.message?.extendedTextMessage?.contextInfo?.stanzaId, ID_STRING);
    const reaction = decodeContent(encodeContent(reactionContent(ref, "👍", 5n)));
    assert.equal(reaction.message?.reactionMessage?.text, "👍");
    assert.equal(reaction.message?.reactionMessage?.key?.remoteJid, BOB);
    const edit = decodeContent(encodeContent(editContent({ ...ref, fromMe: true }, "fixed", 6n)));
    assert.equal(contentKind(edit), "edit");
    assert.equal(edit.message?.protocolMessage?.editedMessage?.conversation, "fixed");
    assert.equal(contentKind(decodeContent(encodeContent(revokeContent({ ...ref, fromMe: true }, 7n)))), "revoke");
    const receipt = decodeContent(encodeContent(receiptContent(ReceiptType.READ, [ID_STRING], 8n)));
    assert.equal(receipt.receipt?.type, ReceiptType.READ);
    const typing = decodeContent(encodeContent(chatStateContent(ChatStateKind.COMPOSING, true)));
    assert.equal(typing.chatState?.audio, true);
  });

  it("reject what a receiver would reject", () => {
    rejects(() => textContent(""), "invalid_field");
    rejects(() => reactionContent({ ...ref, id: "no pe" }, "👍", 1n), "invalid_field");
    rejects(() => receiptContent(ReceiptType.READ, [], 1n), "invalid_field");
  });
});

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
