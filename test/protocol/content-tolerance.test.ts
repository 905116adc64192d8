// One unusable context field costs that field, not the message: what a real gatekeeper relays from WhatsApp's own
// clients (their message IDs, JIDs, broken quote copies, stray bytes) must still arrive.
import assert from "node:assert/strict";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { contentKind, decodeContent } from "../../src/protocol/content.js";
import { telUriOfJid } from "../../src/protocol/content-tolerance.js";
import { ContentSchema, ProtocolMessage_Type } from "../../src/protocol/gen/content_pb.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { pad } from "../../src/protocol/padding.js";
import { BOB, ID_STRING } from "./fixtures.js";

type ContentInit = MessageInitShape<typeof ContentSchema>;
const raw = (init: ContentInit) => pad(toBinary(ContentSchema, create(ContentSchema, init)), 1);

function decode(bytes: Uint8Array) {
  const dropped: string[] = [];
  const content = decodeContent(bytes, dropped);
  return { content, dropped };
}

/** Hand-built wire bytes: a field tag, a length and the raw payload (protobuf-es refuses to write invalid UTF-8). */
function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length), ...payload]);
}

const WA_ID = "3EB0C431C26A1916E07E"; // 20 characters, as WhatsApp Web writes them
const WA_ID_22 = "3EB06D8F1A2B3C4D5E6F70"; // 22 characters

describe("tolerant content decoding", () => {
  it("keeps a text whose bytes are not all valid UTF-8, with U+FFFD in place of the bad bytes", () => {
    const text = Uint8Array.from([0x48, 0x69, 0xff, 0x21]); // "Hi", a stray 0xff, "!"
    const { content, dropped } = decode(pad(lengthDelimited(1, lengthDelimited(1, text)), 1));
    assert.equal(contentKind(content), "text");
    assert.equal(content.message?.conversation, "Hi\uFFFD!");
    assert.deepEqual(dropped, []);
  });

  it("drops a quote whose stanza_id is broken UTF-8 but keeps the reply's text", () => {
    // ExtendedTextMessage{text:"yes", context_info:{stanza_id:<"3EB0" + 0xc3 0x28>}}
    const stanza = Uint8Array.from([0x33, 0x45, 0x42, 0x30, 0xc3, 0x28]);
    const ctx = lengthDelimited(1, stanza);
    const ext = Uint8Array.from([...lengthDelimited(1, new TextEncoder().encode("yes")), ...lengthDelimited(17, ctx)]);
    const { content, dropped } = decode(pad(lengthDelimited(1, lengthDelimited(6, ext)), 1));
    assert.equal(content.message?.extendedTextMessage?.text, "yes");
    assert.equal(content.message?.extendedTextMessage?.contextInfo?.stanzaId, "");
    assert.equal(dropped.length, 1);
    assert.match(dropped[0]!, /context_info: the quote was dropped/);
  });

  it("accepts WhatsApp-style message IDs in quotes, reactions, edits and receipts (they match nothing here)", () => {
    const quote = decode(raw({ message: { extendedTextMessage: { text: "yes", contextInfo: { stanzaId: WA_ID_22, participant: BOB, quotedMessage: { conversation: "q" } } } } }));
    assert.equal(quote.content.message?.extendedTextMessage?.contextInfo?.stanzaId, WA_ID_22);
    assert.equal(quote.content.message?.extendedTextMessage?.contextInfo?.quotedMessage?.conversation, "q");
    const reaction = decode(raw({ message: { reactionMessage: { key: { id: WA_ID, remoteJid: BOB }, text: "👍" } } }));
    assert.equal(contentKind(reaction.content), "reaction");
    assert.equal(reaction.content.message?.reactionMessage?.key?.id, WA_ID);
    const edit = decode(raw({ message: { protocolMessage: { key: { id: WA_ID, fromMe: true }, type: ProtocolMessage_Type.MESSAGE_EDIT, editedMessage: { conversation: "new" } } } }));
    assert.equal(contentKind(edit.content), "edit");
    const receipt = decode(raw({ receipt: { messageIds: [WA_ID, ID_STRING] } }));
    assert.deepEqual(receipt.content.receipt?.messageIds, [WA_ID, ID_STRING]);
    assert.deepEqual([quote, reaction, edit, receipt].flatMap((d) => d.dropped), []);
  });

  it("turns a WhatsApp user JID into its tel: URI and drops other participants", () => {
    const jid = decode(raw({ message: { extendedTextMessage: { text: "a", contextInfo: { stanzaId: ID_STRING, participant: "4915112345678@s.whatsapp.net" } } } }));
    assert.equal(jid.content.message?.extendedTextMessage?.contextInfo?.participant, BOB);
    assert.deepEqual(jid.dropped, []);
    const device = decode(raw({ message: { reactionMessage: { key: { id: ID_STRING, remoteJid: "4915112345678:7@s.whatsapp.net", participant: "120363025246125486@g.us" }, text: "x" } } }));
    assert.equal(device.content.message?.reactionMessage?.key?.remoteJid, BOB);
    assert.equal(device.content.message?.reactionMessage?.key?.participant, "");
    assert.equal(device.dropped.length, 1);
    assert.match(device.dropped[0]!, /key\.participant: dropped/);
  });

  it("maps only user JIDs with E.164 digits", () => {
    assert.equal(telUriOfJid("4915112345678@s.whatsapp.net"), BOB);
    assert.equal(telUriOfJid("4915112345678@c.us"), BOB);
    assert.equal(telUriOfJid("4915112345678@lid"), undefined);
    assert.equal(telUriOfJid("0151@s.whatsapp.net"), undefined);
    assert.equal(telUriOfJid("1234567890123456@s.whatsapp.net"), undefined);
  });

  it("drops a quoted copy that breaks a rule and keeps the reply", () => {
    const badMedia = { mediaKey: new Uint8Array(5), fileSha256: new Uint8Array(32), fileEncSha256: new Uint8Array(32), directPath: "/v1/media/x" };
    const { content, dropped } = decode(raw({ message: { extendedTextMessage: { text: "look", contextInfo: { stanzaId: ID_STRING, quotedMessage: { imageMessage: badMedia } } } } }));
    const ctx = content.message?.extendedTextMessage?.contextInfo;
    assert.equal(ctx?.stanzaId, ID_STRING);
    assert.equal(ctx?.quotedMessage, undefined);
    assert.match(dropped.join("\n"), /quoted_message: dropped \(.*media_key/);
  });

  it("drops a quoted copy without stanza_id, and quotes nested too deep", () => {
    const orphan = decode(raw({ message: { extendedTextMessage: { text: "a", contextInfo: { quotedMessage: { conversation: "q" } } } } }));
    assert.equal(orphan.content.message?.extendedTextMessage?.contextInfo?.quotedMessage, undefined);
    let quoted: ContentInit["message"] = { conversation: "bottom" };
    for (let i = 0; i < 5; i++) quoted = { extendedTextMessage: { text: `level ${i}`, contextInfo: { stanzaId: ID_STRING, quotedMessage: quoted } } };
    const deep = decode(raw({ message: quoted }));
    assert.equal(deep.content.message?.extendedTextMessage?.text, "level 4");
    assert.match(deep.dropped.join("\n"), /nest more than 3 levels/);
  });

  it("drops unusable receipt IDs one by one, but a receipt with none left is still invalid", () => {
    const some = decode(raw({ receipt: { messageIds: [ID_STRING, "no ID", WA_ID] } }));
    assert.deepEqual(some.content.receipt?.messageIds, [ID_STRING, WA_ID]);
    assert.match(some.dropped[0]!, /dropped 1 unusable ID/);
    assert.throws(() => decodeContent(raw({ receipt: { messageIds: ["no ID"] } })), ProtocolError);
  });

  it("still rejects a message that cannot do without the broken field", () => {
    // The reaction's key is the reaction: without a usable ID it points at nothing.
    assert.throws(() => decodeContent(raw({ message: { reactionMessage: { key: { id: "3EB0\uFFFD" }, text: "👍" } } })), ProtocolError);
    assert.throws(() => decodeContent(raw({ message: { imageMessage: { mediaKey: new Uint8Array(3), directPath: "/x" } } })), ProtocolError);
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
