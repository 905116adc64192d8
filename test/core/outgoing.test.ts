// Matrix -> network: every outgoing handler, through the fake network's codec into the real outbox.
import assert from "node:assert/strict";
import type { MatrixEphemeralEvent, MatrixEvent } from "../../src/core/bridge.js";
import { messageIdForEvent } from "../../src/core/bridge.js";
import { MediaError, RemoteError } from "../../src/core/ports.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, FakeMediaPort, newRemoteId, sentEvents, type CoreWorld, type CoreWorldOptions } from "./fakes.js";

const ROOM = "!portal:example.org";
const ME = `local:${ALICE}`;

let seq = 0;
function event(type: string, content: Record<string, unknown>, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  seq++;
  return { type, room_id: ROOM, sender: ALICE, event_id: `$m${seq}`, origin_server_ts: 1_800_000_000_000 + seq * 1000, content, ...extra };
}
const text = (body: string, extra: Record<string, unknown> = {}) => event("m.room.message", { msgtype: "m.text", body, ...extra });
const replyTo = (eventId: string) => ({ "m.relates_to": { "m.in_reply_to": { event_id: eventId } } });

describe("core: outgoing events", () => {
  let w: CoreWorld;
  async function open(options: CoreWorldOptions = {}): Promise<void> {
    w = await coreWorld(options);
    await w.store.users.ensure(ALICE, ME);
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId: ROOM, encrypted: false });
  }
  afterEach(async () => w.close());

  const send = (ev: MatrixEvent) => w.core.handleMatrixEvent(ev);
  const outboxRows = () => w.store.db.all('SELECT message_id AS "messageId", room_id AS "roomId", event_id AS "eventId" FROM outbox ORDER BY seq');
  /** A message Anna sent, as the incoming side maps it. */
  async function mapIncoming(timestamp: number): Promise<{ messageId: string; eventId: string }> {
    const messageId = newRemoteId();
    const eventId = `$in-${messageId}`;
    await w.store.messages.put({ matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: ROOM, eventId, direction: "in", sender: ANNA, timestamp });
    return { messageId, eventId };
  }
  /** The one notice sent, from Anna's puppet into the portal. */
  function onlyNotice(): string {
    const notices = w.matrix.notices();
    assert.equal(notices.length, 1, JSON.stringify(notices));
    assert.equal(notices[0]!.asUser, ANNA_PUPPET);
    assert.equal(notices[0]!.roomId, ROOM);
    return notices[0]!.body;
  }
  async function nothingQueued(): Promise<void> {
    assert.equal(await w.store.outbox.pending(), 0);
    assert.equal(w.remote.wakes, 0);
  }

  describe("messages", () => {
    beforeEach(async () => open());

    it("queues a text for the contact, mapped to its event, and wakes the network", async () => {
      const ev = text("hi Anna");
      await send(ev);
      assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "hi Anna", emote: false }]);
      const messageId = messageIdForEvent(ROOM, ev.event_id);
      assert.deepEqual(await outboxRows(), [{ messageId, roomId: ROOM, eventId: ev.event_id }]);
      assert.deepEqual(await w.store.messages.byEventId(ROOM, ev.event_id), { matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: ROOM, eventId: ev.event_id, direction: "out", sender: ME, timestamp: ev.origin_server_ts });
      assert.equal(w.remote.wakes, 1);
      assert.deepEqual(w.remote.identities, [ALICE]);
      assert.deepEqual(w.matrix.calls, []);
    });

    it("queues an emote with the emote flag", async () => {
      await send(event("m.room.message", { msgtype: "m.emote", body: "waves" }));
      assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "waves", emote: true }]);
    });

    it("queues a notice as a plain message", async () => {
      await send(event("m.room.message", { msgtype: "m.notice", body: "automated" }));
      assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "automated", emote: false }]);
    });

    it("hands the dialect the formatted body, and leaves unformatted text plain", async () => {
      await send(text("*hi*", { format: "org.matrix.custom.html", formatted_body: "<b>hi</b>" }));
      await send(text("plain", { format: "org.matrix.custom.html" }));
      assert.deepEqual(w.remote.fromMatrixInputs, [{ body: "*hi*", format: "org.matrix.custom.html", formatted_body: "<b>hi</b>" }, { body: "plain" }]);
    });

    it("refuses an empty body with a notice", async () => {
      await send(text("  \n "));
      assert.equal(onlyNotice(), "⚠ Not delivered: the message is empty.");
      assert.equal(w.matrix.events()[0]?.txnId, `unsup-$m${seq}`);
      await nothingQueued();
    });

    it("refuses a msgtype that is not bridged (m.image without media) with a notice naming it", async () => {
      await send(event("m.room.message", { msgtype: "m.image", body: "x.png", url: "mxc://example.org/x" }));
      assert.equal(onlyNotice(), "⚠ Not delivered: images are not bridged yet.");
      await nothingQueued();
    });

    it("refuses an unknown msgtype, quoting it", async () => {
      await send(event("m.room.message", { msgtype: "org.example.custom", body: "?" }));
      assert.equal(onlyNotice(), '⚠ Not delivered: "org.example.custom" messages are not bridged yet.');
      await nothingQueued();
    });

    it("refuses an image when there is no media port", async () => {
      await send(event("m.room.message", { msgtype: "m.image", body: "cat.jpg", url: "mxc://example.org/cat" }));
      assert.equal(onlyNotice(), "⚠ Not delivered: images are not bridged yet.");
      await nothingQueued();
    });

    it("carries replyTo for a reply to the contact's bridged message", async () => {
      const theirs = await mapIncoming(1);
      await send(text("yes", replyTo(theirs.eventId)));
      assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "yes", emote: false, replyTo: { messageId: theirs.messageId, sender: ANNA, fromMe: false } }]);
    });

    it("carries replyTo with fromMe for a reply to the user's own message", async () => {
      const mine = text("first");
      await send(mine);
      await send(text("and second", replyTo(mine.event_id)));
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "message", text: "and second", emote: false, replyTo: { messageId: messageIdForEvent(ROOM, mine.event_id), sender: ME, fromMe: true } });
    });

    it("sends a reply to something that never crossed the bridge as plain text", async () => {
      await send(text("yes", replyTo("$never")));
      assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "yes", emote: false }]);
    });

    it("tells the codec's refusal with its reason, and queues and maps nothing", async () => {
      const ev = text("x".repeat(1001));
      await send(ev);
      assert.equal(onlyNotice(), "⚠ Not delivered: too long for the fake network.");
      await nothingQueued();
      assert.equal(await w.store.messages.byEventId(ROOM, ev.event_id), undefined);
    });

    it("queues a redelivered event once, while queued and after it was sent", async () => {
      const ev = text("once");
      await send(ev);
      await send(ev);
      assert.equal(await w.store.outbox.pending(), 1);
      const [head] = await w.store.outbox.heads();
      await w.store.outbox.remove(head!.seq); // delivered
      await send(ev);
      assert.equal(await w.store.outbox.pending(), 0);
      assert.equal(w.remote.wakes, 1);
    });

    it("queues a redelivered reaction once", async () => {
      const theirs = await mapIncoming(1);
      const ev = event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: theirs.eventId, key: "👍" } });
      await send(ev);
      await send(ev);
      assert.equal((await sentEvents(w.store)).length, 1);
    });
  });

  describe("the user's network identity", () => {
    beforeEach(async () => open());

    it("a permanent failure is told in a notice, and nothing is queued", async () => {
      w.remote.identityFailure = new RemoteError("invalid", "key bundle rejected: signature mismatch");
      const ev = text("hi");
      await send(ev);
      assert.equal(onlyNotice(), "⚠ Not delivered: FakeNet refused the message as invalid.");
      assert.equal(w.matrix.events()[0]?.txnId, `fail-${ev.event_id}`);
      await nothingQueued();
      assert.equal(await w.store.messages.byEventId(ROOM, ev.event_id), undefined);
    });

    it("a transient failure throws, so the event is retried, with no notice", async () => {
      w.remote.identityFailure = new RemoteError("unreachable", "connect ECONNREFUSED");
      await assert.rejects(send(text("hi")), RemoteError);
      assert.deepEqual(w.matrix.calls, []);
      await nothingQueued();
      w.remote.identityFailure = new Error("database is locked");
      await assert.rejects(send(text("hi")), /database is locked/);
      await nothingQueued();
    });
  });

  describe("edits", () => {
    beforeEach(async () => open());

    const edit = (target: string, body: string) => event("m.room.message", { msgtype: "m.text", body: `* ${body}`, "m.new_content": { msgtype: "m.text", body }, "m.relates_to": { rel_type: "m.replace", event_id: target } });

    it("of the user's own bridged message are queued as edits of it, not as new messages", async () => {
      const original = text("helo");
      await send(original);
      const ev = edit(original.event_id, "hello");
      await send(ev);
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "edit", target: { messageId: messageIdForEvent(ROOM, original.event_id), sender: ME, fromMe: true }, text: "hello" });
      assert.equal(await w.store.messages.byEventId(ROOM, ev.event_id), undefined);
    });

    it("without m.new_content take the new text from the event itself", async () => {
      const original = text("helo");
      await send(original);
      await send(event("m.room.message", { msgtype: "m.text", body: "hello", "m.relates_to": { rel_type: "m.replace", event_id: original.event_id } }));
      assert.equal(((await sentEvents(w.store))[1] as { text: string }).text, "hello");
    });

    it("of the contact's message are refused", async () => {
      const theirs = await mapIncoming(1);
      await send(edit(theirs.eventId, "rewritten"));
      assert.equal(onlyNotice(), "⚠ Not delivered: only your own messages can be edited.");
      await nothingQueued();
    });

    it("of a message that never crossed the bridge are refused", async () => {
      await send(edit("$never", "x"));
      assert.equal(onlyNotice(), "⚠ Not delivered: the edited message was never bridged, so the edit cannot be sent.");
      await nothingQueued();
    });

    it("to an empty text are refused", async () => {
      const original = text("hello");
      await send(original);
      await send(edit(original.event_id, " "));
      assert.equal(onlyNotice(), "⚠ Not delivered: the edited text is empty.");
      assert.equal(await w.store.outbox.pending(), 1);
    });
  });

  describe("reactions", () => {
    beforeEach(async () => open());
    const react = (target: string, key: string) => event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: target, key } });

    it("to a bridged message are queued with the reaction remembered as the user's", async () => {
      const theirs = await mapIncoming(1);
      const ev = react(theirs.eventId, "👍");
      await send(ev);
      assert.deepEqual(await sentEvents(w.store), [{ kind: "reaction", target: { messageId: theirs.messageId, sender: ANNA, fromMe: false }, emoji: "👍" }]);
      assert.deepEqual(await w.store.reactions.byEvent(ROOM, ev.event_id), { matrixUser: ALICE, remoteUri: ANNA, targetMessageId: theirs.messageId, reactor: ME, emoji: "👍", roomId: ROOM, eventId: ev.event_id });
      assert.equal(await w.store.messages.byEventId(ROOM, ev.event_id), undefined);
    });

    it("to a message that never crossed the bridge are refused", async () => {
      const ev = react("$never", "👍");
      await send(ev);
      assert.equal(onlyNotice(), "⚠ Not delivered: the message you reacted to was never bridged.");
      await nothingQueued();
      assert.equal(await w.store.reactions.byEvent(ROOM, ev.event_id), undefined);
    });

    it("that are malformed are refused", async () => {
      await send(event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: "$x" } }));
      assert.equal(onlyNotice(), "⚠ Not delivered: the reaction is malformed.");
      await nothingQueued();
    });

    it("whose queueing fails leave no reaction row (it is committed with the outbox)", async () => {
      const theirs = await mapIncoming(1);
      w.remote.identityFailure = new RemoteError("blocked", "blocked");
      const ev = react(theirs.eventId, "👍");
      await send(ev);
      assert.equal(await w.store.reactions.byEvent(ROOM, ev.event_id), undefined);
      await nothingQueued();
    });
  });

  describe("redactions", () => {
    beforeEach(async () => open());
    const redaction = (redacts: string, v11 = true) => (v11 ? event("m.room.redaction", { redacts }) : event("m.room.redaction", {}, { redacts }));

    it("of the user's own reaction take it back: a reaction with an empty emoji", async () => {
      const theirs = await mapIncoming(1);
      const reaction = event("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: theirs.eventId, key: "👍" } });
      await send(reaction);
      await send(redaction(reaction.event_id));
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "reaction", target: { messageId: theirs.messageId, sender: ANNA, fromMe: false }, emoji: "" });
      assert.equal(await w.store.reactions.byEvent(ROOM, reaction.event_id), undefined);
      assert.equal(await w.store.reactions.get(ALICE, ANNA, theirs.messageId, ME), undefined);
    });

    it("of the user's own message delete it for everyone (redacts at the top level, before room v11)", async () => {
      const mine = text("oops");
      await send(mine);
      await send(redaction(mine.event_id, false));
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "delete", target: { messageId: messageIdForEvent(ROOM, mine.event_id), sender: ME, fromMe: true } });
    });

    it("of the contact's message are refused (it only hides it in Matrix)", async () => {
      const theirs = await mapIncoming(1);
      await send(redaction(theirs.eventId));
      assert.equal(onlyNotice(), "⚠ Not delivered: only your own messages can be deleted for everyone.");
      await nothingQueued();
    });

    it("of something that never crossed the bridge send nothing and say nothing", async () => {
      await send(redaction("$a-notice"));
      assert.deepEqual(w.matrix.calls, []);
      await nothingQueued();
    });
  });

  describe("media", () => {
    let media: FakeMediaPort;
    beforeEach(async () => {
      media = new FakeMediaPort();
      await open({ media });
    });
    const image = (extra: Record<string, unknown> = {}) => event("m.room.message", { msgtype: "m.image", body: "cat.jpg", url: "mxc://example.org/cat", ...extra });

    it("goes through the media port and is queued and mapped", async () => {
      const ev = image();
      await send(ev);
      assert.deepEqual(media.toRemoteCalls, [{ matrixUser: ALICE, content: ev.content, quote: undefined }]);
      assert.deepEqual(await sentEvents(w.store), [{ kind: "media", media: { network: "fake", value: { from: "mxc://example.org/cat" } } }]);
      assert.equal((await w.store.messages.byEventId(ROOM, ev.event_id))?.direction, "out");
    });

    it("passes the quoted message of a reply to the media port", async () => {
      const theirs = await mapIncoming(1);
      await send(image(replyTo(theirs.eventId)));
      assert.deepEqual(media.toRemoteCalls[0]?.quote, { messageId: theirs.messageId, sender: ANNA, fromMe: false });
      assert.deepEqual(await sentEvents(w.store), [{ kind: "media", media: { network: "fake", value: { from: "mxc://example.org/cat", quote: theirs.messageId } } }]);
    });

    it("a MediaError is told with its message, and nothing is queued", async () => {
      media.failure = new MediaError("the file is larger than the 100 MB limit");
      await send(image());
      assert.equal(onlyNotice(), "⚠ Not delivered: the file is larger than the 100 MB limit.");
      await nothingQueued();
    });

    it("any other failure throws, for a retry", async () => {
      media.failure = new Error("ECONNRESET");
      await assert.rejects(send(image()), /ECONNRESET/);
      await nothingQueued();
    });

    it("text still goes as text", async () => {
      await send(text("caption-less"));
      assert.deepEqual(media.toRemoteCalls, []);
      assert.equal((await sentEvents(w.store))[0]?.kind, "message");
    });
  });

  describe("typing", () => {
    beforeEach(async () => {
      await open();
      await w.store.users.markKeysUploaded(ALICE);
    });
    const typing = (...userIds: string[]): MatrixEphemeralEvent => ({ type: "m.typing", room_id: ROOM, content: { user_ids: userIds } });

    it("queues only changes of the user's typing state", async () => {
      await w.core.handleEphemeral(typing(ALICE));
      await w.core.handleEphemeral(typing(ALICE, "@bob:example.org"));
      await w.core.handleEphemeral(typing());
      await w.core.handleEphemeral(typing("@bob:example.org"));
      assert.deepEqual(await sentEvents(w.store), [
        { kind: "typing", typing: true },
        { kind: "typing", typing: false },
      ]);
      assert.deepEqual((await outboxRows()).map((r) => (r as { roomId: unknown }).roomId), [null, null]);
    });

    it("queues nothing before the user has a network identity", async () => {
      await w.store.db.run("UPDATE bridge_users SET keys_uploaded_at = NULL");
      await w.core.handleEphemeral(typing(ALICE));
      await nothingQueued();
    });

    it("queues nothing for a room that is no portal", async () => {
      await w.core.handleEphemeral({ type: "m.typing", room_id: "!other:example.org", content: { user_ids: [ALICE] } });
      await nothingQueued();
    });
  });

  describe("read receipts", () => {
    const receipt = (eventId: string, type: string, userId = ALICE): MatrixEphemeralEvent => ({ type: "m.receipt", room_id: ROOM, content: { [eventId]: { [type]: { [userId]: { ts: 1 } } } } });
    let m1: { messageId: string; eventId: string }, m2: typeof m1, m3: typeof m1;
    async function setUp(options: CoreWorldOptions = {}): Promise<void> {
      await open(options);
      await w.store.users.markKeysUploaded(ALICE);
      m1 = await mapIncoming(1000);
      m2 = await mapIncoming(2000);
      m3 = await mapIncoming(3000);
    }

    it("pass on the public m.read of the portal's user for the contact's messages up to it, once", async () => {
      await setUp();
      await w.core.handleEphemeral(receipt(m2.eventId, "m.read"));
      assert.deepEqual(await sentEvents(w.store), [{ kind: "receipt", receipt: "read", messageIds: [m2.messageId, m1.messageId] }]);
      assert.equal(await w.store.readMarkers.get(ROOM), 2000);
      await w.core.handleEphemeral(receipt(m2.eventId, "m.read"));
      await w.core.handleEphemeral(receipt(m1.eventId, "m.read"));
      assert.equal((await sentEvents(w.store)).length, 1);
      await w.core.handleEphemeral(receipt(m3.eventId, "m.read"));
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "receipt", receipt: "read", messageIds: [m3.messageId] });
      assert.equal(w.remote.wakes, 2);
    });

    it("a receipt on the user's own message covers the contact's messages before it", async () => {
      await setUp();
      const mine = text("later");
      await send(mine);
      await w.core.handleEphemeral(receipt(mine.event_id, "m.read"));
      assert.deepEqual((await sentEvents(w.store))[1], { kind: "receipt", receipt: "read", messageIds: [m3.messageId, m2.messageId, m1.messageId] });
    });

    it("keep private read receipts private", async () => {
      await setUp();
      await w.core.handleEphemeral(receipt(m3.eventId, "m.read.private"));
      await nothingQueued();
    });

    it("ignore other users' receipts and events that never crossed the bridge", async () => {
      await setUp();
      await w.core.handleEphemeral(receipt(m3.eventId, "m.read", "@bob:example.org"));
      await w.core.handleEphemeral(receipt("$never", "m.read"));
      await nothingQueued();
      assert.equal(await w.store.readMarkers.get(ROOM), 0);
    });

    it("are not passed on when send_read_receipts is off", async () => {
      await setUp({ bridge: { send_read_receipts: false } });
      await w.core.handleEphemeral(receipt(m3.eventId, "m.read"));
      await nothingQueued();
    });
  });

  describe("other events in a portal", () => {
    beforeEach(async () => open());

    it("from someone other than the portal's user are not bridged", async () => {
      await send(text("hi", {}));
      await send({ ...text("from bob"), sender: "@bob:example.org" });
      await send({ ...text("echo"), sender: ANNA_PUPPET });
      assert.deepEqual((await sentEvents(w.store)).map((e) => (e as { text: string }).text), ["hi"]);
    });

    it("m.room.encryption marks the portal encrypted", async () => {
      await send(event("m.room.encryption", { algorithm: "m.megolm.v1.aes-sha2" }, { state_key: "" }));
      assert.equal((await w.store.portals.byRoom(ROOM))?.encrypted, true);
    });

    it("an encrypted event the bridge cannot read is answered with a notice", async () => {
      await send(event("m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "..." }));
      assert.match(onlyNotice(), /set up without Matrix encryption/);
      await nothingQueued();
    });
  });
});
