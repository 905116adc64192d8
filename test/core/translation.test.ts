import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { parseCommand } from "../../src/core/commands.js";
import { contentToMatrix } from "../../src/core/to-matrix.js";
import { messageToRemote, reactionToRemote, revokeToRemote, type OutgoingContext } from "../../src/core/to-remote.js";
import { stripReplyFallback } from "../../src/core/formatting/reply-fallback.js";
import { messageIdForEvent } from "../../src/core/bridge.js";
import { ContentSchema } from "../../src/protocol/gen/content_pb.js";
import { reactionContent, editContent, revokeContent, textContent } from "../../src/protocol/content-builders.js";
import type { MappedMessage } from "../../src/store/message-map.js";

const ANNA = "tel:+4915112345678";
const OUT: MappedMessage = { matrixUser: "@a:x", remoteUri: ANNA, messageId: "A".repeat(32), roomId: "!r:x", eventId: "$out", direction: "out", sender: "matrix:u/a:x", timestamp: 1 };
const IN: MappedMessage = { ...OUT, messageId: "B".repeat(32), eventId: "$in", direction: "in", sender: ANNA };
const ctx: OutgoingContext = { remoteUri: ANNA, mapped: (id) => (id === "$out" ? OUT : id === "$in" ? IN : undefined), now: 5n };

describe("core translation", () => {
  it("parses commands in any case, with aliases and usage errors", () => {
    assert.deepEqual(parseCommand("  HELP "), { name: "help" });
    assert.deepEqual(parseCommand("start-chat +49 151 12345678"), { name: "start-chat", number: "+49 151 12345678" });
    assert.deepEqual(parseCommand("!wa pm 0151 1"), { name: "start-chat", number: "0151 1" });
    assert.equal(parseCommand("start-chat")!.name, "usage");
    assert.deepEqual(parseCommand("frobnicate"), { name: "unknown", word: "frobnicate" });
    assert.equal(parseCommand("   "), null);
  });

  it("turns text, notices and emotes into conversation text", () => {
    const text = messageToRemote({ msgtype: "m.text", body: "hi" }, ctx);
    assert.ok(text.ok && text.content.message?.conversation === "hi");
    const emote = messageToRemote({ msgtype: "m.emote", body: "waves" }, ctx);
    assert.ok(emote.ok && emote.content.message?.conversation === "/me waves");
    const empty = messageToRemote({ msgtype: "m.text", body: "  " }, ctx);
    assert.ok(!empty.ok);
    const loc = messageToRemote({ msgtype: "m.location", body: "here" }, ctx);
    assert.ok(!loc.ok && /locations are not bridged/.test(loc.reason));
  });

  it("strips reply fallbacks and points replies at the quoted message", () => {
    assert.equal(stripReplyFallback("> <@b:x> quoted\n> more\n\nanswer"), "answer");
    assert.equal(stripReplyFallback("no quote"), "no quote");
    const r = messageToRemote({ msgtype: "m.text", body: "> <@b:x> q\n\nanswer", "m.relates_to": { "m.in_reply_to": { event_id: "$in" } } }, ctx);
    assert.ok(r.ok);
    assert.equal(r.content.message?.extendedTextMessage?.text, "answer");
    assert.equal(r.content.message?.extendedTextMessage?.contextInfo?.stanzaId, IN.messageId);
    const unknown = messageToRemote({ msgtype: "m.text", body: "x", "m.relates_to": { "m.in_reply_to": { event_id: "$nope" } } }, ctx);
    assert.ok(unknown.ok && unknown.content.message?.conversation === "x", "a reply to an unbridged event goes as plain text");
  });

  it("edits and deletes only the user's own bridged messages", () => {
    const edit = messageToRemote({ msgtype: "m.text", body: "* new", "m.new_content": { msgtype: "m.text", body: "new" }, "m.relates_to": { rel_type: "m.replace", event_id: "$out" } }, ctx);
    assert.ok(edit.ok);
    assert.equal(edit.content.message?.protocolMessage?.editedMessage?.conversation, "new");
    assert.equal(edit.content.message?.protocolMessage?.key?.id, OUT.messageId);
    const foreign = messageToRemote({ msgtype: "m.text", body: "* x", "m.new_content": { body: "x" }, "m.relates_to": { rel_type: "m.replace", event_id: "$in" } }, ctx);
    assert.ok(!foreign.ok && /own messages/.test(foreign.reason));
    assert.ok(revokeToRemote(OUT, ctx).ok);
    assert.ok(!revokeToRemote(IN, ctx).ok);
  });

  it("reacts with the remote message's key, fromMe set by who wrote it", () => {
    const r = reactionToRemote({ "m.relates_to": { rel_type: "m.annotation", event_id: "$in", key: "👍" } }, ctx);
    assert.ok(r.ok);
    assert.equal(r.content.message?.reactionMessage?.key?.fromMe, false);
    assert.equal(r.content.message?.reactionMessage?.key?.remoteJid, ANNA);
    assert.ok(!reactionToRemote({ "m.relates_to": { rel_type: "m.annotation", event_id: "$nope", key: "👍" } }, ctx).ok);
  });

  it("reads every remote content kind", () => {
    const key = { id: OUT.messageId, remoteJid: "matrix:u/a:x", fromMe: false };
    assert.deepEqual(contentToMatrix(textContent("hi")), { kind: "message", text: "hi" });
    assert.deepEqual(contentToMatrix(textContent("re", { stanzaId: OUT.messageId, participant: "matrix:u/a:x" })), { kind: "message", text: "re", replyTo: { messageId: OUT.messageId } });
    assert.deepEqual(contentToMatrix(reactionContent(key, "❤️", 1n)), { kind: "reaction", targetId: OUT.messageId, emoji: "❤️" });
    assert.deepEqual(contentToMatrix(editContent(key, "new", 1n)), { kind: "edit", targetId: OUT.messageId, text: "new" });
    assert.deepEqual(contentToMatrix(revokeContent(key, 1n)), { kind: "revoke", targetId: OUT.messageId });
    assert.equal(contentToMatrix(create(ContentSchema, { message: { imageMessage: { mimetype: "image/png" } } })).kind, "media");
    assert.equal(contentToMatrix(create(ContentSchema, { message: {} })).kind, "unsupported");
  });

  it("derives one stable interop message ID per Matrix event", () => {
    const a = messageIdForEvent("!r:x", "$1");
    assert.match(a, /^[0-9A-F]{32}$/);
    assert.equal(messageIdForEvent("!r:x", "$1"), a);
    assert.notEqual(messageIdForEvent("!r:x", "$2"), a);
  });
});
