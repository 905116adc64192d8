// Network -> Matrix: every kind of RemoteEvent through its handler, over the fake network and a recording Matrix side.
import assert from "node:assert/strict";
import type { RemoteEvent } from "../../src/core/events.js";
import { MediaError } from "../../src/core/ports.js";
import { MATRIX_MAX_PARTS } from "../../src/core/text-limits.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, FakeMediaPort, fakeMedia, inboxEntry, newRemoteId, type CoreWorld, type CoreWorldOptions } from "./fakes.js";

const ANNA_LABEL = "~4915112345678";

describe("core: incoming events", () => {
  let w: CoreWorld;
  const open = async (options: CoreWorldOptions = {}) => (w = await coreWorld({ directory: { [ANNA]: "Anna" }, ...options }));
  afterEach(async () => w.close());

  async function deliver(event: RemoteEvent, overrides: Partial<InboxEntry> = {}): Promise<InboxEntry> {
    const entry = inboxEntry(event, overrides);
    await w.core.handleRemoteEntry(entry);
    return entry;
  }
  const eventOf = async (entry: InboxEntry) => (await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId))?.eventId;
  const portalRoom = async () => (await w.store.portals.get(ALICE, ANNA))?.roomId ?? undefined;
  /** Anna's chat with a portal and one bridged message from her in it. */
  async function chatWithMessage(text = "hello"): Promise<{ room: string; first: InboxEntry; firstEvent: string }> {
    const first = await deliver({ kind: "message", text });
    const room = (await portalRoom())!;
    w.matrix.members.get(room)!.add(ALICE); // she accepted the invite
    return { room, first, firstEvent: (await eventOf(first))! };
  }
  /** One of Alice's messages, as the outgoing side maps it. */
  async function mapOutgoing(room: string, timestamp: number): Promise<{ messageId: string; eventId: string }> {
    const messageId = newRemoteId();
    const eventId = `$out-${messageId}`;
    await w.store.messages.put({ matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: room, eventId, direction: "out", sender: `local:${ALICE}`, timestamp });
    return { messageId, eventId };
  }

  describe("message", () => {
    beforeEach(async () => open());

    it("opens a portal for a first message: looks the contact up, names the room after them, posts and maps the message", async () => {
      const entry = await deliver({ kind: "message", text: "hello" });
      assert.deepEqual(w.remote.lookups, [ANNA]);
      assert.deepEqual(w.matrix.called("ensurePuppet")[0]?.args, ["+4915112345678", { name: "Anna", avatar: undefined }]);
      const [create, ...more] = w.matrix.called("createPortalRoom");
      assert.deepEqual(more, []);
      const { initialState, ...opts } = create?.args[0] as { initialState: { type: string }[] };
      assert.deepEqual(opts, { puppetUserId: ANNA_PUPPET, inviteUserId: ALICE, name: "Anna", encrypted: true });
      assert.deepEqual(initialState.map((s) => s.type), ["m.bridge", "uk.half-shot.bridge"]);
      const room = await portalRoom();
      assert.ok(room);
      const [msg, ...others] = w.matrix.messages();
      assert.deepEqual(others, []);
      assert.deepEqual(msg, { asUser: ANNA_PUPPET, roomId: room, type: "m.room.message", content: { msgtype: "m.text", body: "hello" }, txnId: `in-${entry.messageId}` });
      const mapped = await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId);
      assert.equal(mapped?.roomId, room);
      assert.equal(mapped?.direction, "in");
      assert.equal(mapped?.timestamp, entry.timestamp);
      assert.match(mapped?.eventId ?? "", /^\$event/);
    });

    it("names the room after the contact's label when the directory has no name", async () => {
      w.close();
      await open({ directory: {} });
      await deliver({ kind: "message", text: "hello" });
      assert.equal((w.matrix.called("createPortalRoom")[0]?.args[0] as { name: string }).name, ANNA_LABEL);
    });

    it("still opens the portal when the lookup fails", async () => {
      w.remote.failing.set(ANNA, new Error("directory down"));
      await deliver({ kind: "message", text: "hello" });
      assert.equal((w.matrix.called("createPortalRoom")[0]?.args[0] as { name: string }).name, ANNA_LABEL);
      assert.equal(w.matrix.messages().length, 1);
    });

    it("reuses the portal for a second message, without another lookup", async () => {
      const { room } = await chatWithMessage();
      const second = await deliver({ kind: "message", text: "again" });
      assert.equal(w.matrix.called("createPortalRoom").length, 1);
      assert.deepEqual(w.remote.lookups, [ANNA]);
      const last = w.matrix.messages().at(-1);
      assert.equal(last?.roomId, room);
      assert.equal(last?.content.body, "again");
      assert.equal((await w.store.messages.byMessageId(ALICE, ANNA, second.messageId))?.roomId, room);
    });

    it("makes a new portal when the puppet is no longer in the old room", async () => {
      const { room } = await chatWithMessage();
      w.matrix.members.get(room)!.delete(ANNA_PUPPET);
      await deliver({ kind: "message", text: "again" });
      const newRoom = await portalRoom();
      assert.notEqual(newRoom, room);
      assert.equal(w.matrix.called("createPortalRoom").length, 2);
      assert.equal(w.matrix.messages().at(-1)?.roomId, newRoom);
      assert.equal(await w.store.portals.byRoom(room), undefined);
    });

    it("answers a reply to a bridged message with m.in_reply_to, without the quote", async () => {
      const { first, firstEvent } = await chatWithMessage();
      await deliver({ kind: "message", text: "yes", replyTo: { messageId: first.messageId, quotedText: "hello" } });
      assert.deepEqual(w.matrix.messages().at(-1)?.content, { msgtype: "m.text", body: "yes", "m.relates_to": { "m.in_reply_to": { event_id: firstEvent } } });
    });

    it("shows the quote inline for a reply to a message that never crossed the bridge", async () => {
      await chatWithMessage();
      await deliver({ kind: "message", text: "yes", replyTo: { messageId: newRemoteId(), quotedText: "from the phone" } });
      assert.deepEqual(w.matrix.messages().at(-1)?.content, { msgtype: "m.text", body: "«from the phone» yes" });
    });

    it("shows the quote inline for a reply to a message of an earlier portal room", async () => {
      const { room } = await chatWithMessage();
      const old = await mapOutgoing("!old:example.org", 1);
      await deliver({ kind: "message", text: "yes", replyTo: { messageId: old.messageId, quotedText: "long ago" } });
      const last = w.matrix.messages().at(-1);
      assert.equal(last?.roomId, room);
      assert.deepEqual(last?.content, { msgtype: "m.text", body: "«long ago» yes" });
    });

    it("splits a text too long for one event into parts with -partK txn IDs, mapping only the first", async () => {
      const lines = Array.from({ length: 1500 }, (_, k) => `${k} `.padEnd(99, "x"));
      const entry = await deliver({ kind: "message", text: lines.join("\n") });
      const parts = w.matrix.messages();
      assert.ok(parts.length > 1 && parts.length <= MATRIX_MAX_PARTS, `${parts.length} parts`);
      assert.deepEqual(
        parts.map((p) => p.txnId),
        parts.map((_, k) => (k === 0 ? `in-${entry.messageId}` : `in-${entry.messageId}-part${k}`)),
      );
      assert.equal(parts.map((p) => p.content.body).join("\n"), lines.join("\n"));
      for (const p of parts) assert.equal(p.content.msgtype, "m.text");
      assert.equal(await eventOf(entry), "$event2"); // the first part (after the room)
      assert.deepEqual(w.matrix.notices(), []);
    });

    it("cuts a text past the part limit and says how much is shown", async () => {
      const text = Array.from({ length: 12_000 }, (_, k) => `${k} `.padEnd(99, "y")).join("\n");
      const entry = await deliver({ kind: "message", text });
      const parts = w.matrix.messages();
      assert.equal(parts.length, MATRIX_MAX_PARTS);
      const shown = parts.map((p) => String(p.content.body)).join("\n");
      assert.ok(text.startsWith(shown));
      const cut = w.matrix.events("m.room.message").at(-1);
      assert.equal(cut?.content.msgtype, "m.notice");
      assert.equal(cut?.txnId, `cut-${entry.messageId}`);
      assert.equal(cut?.asUser, ANNA_PUPPET);
      const m = /^✂ This message from (\S+) was too long for Matrix: (\d+) of (\d+) characters are shown\. Open FakeNet/.exec(String(cut?.content.body));
      assert.ok(m, String(cut?.content.body));
      assert.equal(m[1], ANNA_LABEL);
      assert.equal(Number(m[3]), text.length);
      assert.ok(Number(m[2]) >= shown.length - MATRIX_MAX_PARTS && Number(m[2]) < text.length);
    });
  });

  describe("media", () => {
    let media: FakeMediaPort;
    beforeEach(async () => {
      media = new FakeMediaPort();
      await open({ media });
    });

    it("goes through the media port (as the puppet, for the portal's encryption) and is posted and mapped", async () => {
      const photo = fakeMedia({ id: "p1" });
      const entry = await deliver({ kind: "media", media: photo, what: "a photo" });
      assert.deepEqual(media.toMatrixCalls, [{ puppetUserId: ANNA_PUPPET, media: photo, encrypted: true }]);
      const [posted] = w.matrix.messages();
      assert.deepEqual(posted?.content, { msgtype: "m.image", body: "photo.jpg", url: "mxc://example.org/fake" });
      assert.equal(posted?.txnId, `in-${entry.messageId}`);
      assert.equal(await eventOf(entry), "$event2");
    });

    it("tells the media port the portal is unencrypted when it is", async () => {
      await chatWithMessage();
      await w.store.portals.upsert({ ...(await w.store.portals.get(ALICE, ANNA))!, encrypted: false });
      await deliver({ kind: "media", media: fakeMedia({}), what: "a photo" });
      assert.equal(media.toMatrixCalls[0]?.encrypted, false);
    });

    it("replies to a bridged message with m.in_reply_to", async () => {
      const { first, firstEvent } = await chatWithMessage();
      await deliver({ kind: "media", media: fakeMedia({}), what: "a photo", replyTo: first.messageId });
      assert.deepEqual(w.matrix.messages().at(-1)?.content["m.relates_to"], { "m.in_reply_to": { event_id: firstEvent } });
    });

    it("gives the mediaFailed notice on a MediaError, and posts and maps nothing", async () => {
      media.failure = new MediaError("the file is larger than the 100 MB limit");
      const entry = await deliver({ kind: "media", media: fakeMedia({}), what: "a video" });
      assert.deepEqual(w.matrix.messages(), []);
      assert.deepEqual(w.matrix.notices(), [{ asUser: ANNA_PUPPET, roomId: (await portalRoom())!, body: `⚠ ${ANNA_LABEL} sent a video that could not be bridged: the file is larger than the 100 MB limit` }]);
      assert.equal(w.matrix.events().at(-1)?.txnId, `media-${entry.messageId}`);
      assert.equal(await eventOf(entry), undefined);
    });

    it("throws any other failure, so the entry stays queued for a retry", async () => {
      media.failure = new Error("socket hang up");
      await assert.rejects(deliver({ kind: "media", media: fakeMedia({}), what: "a video" }), /socket hang up/);
      assert.deepEqual(w.matrix.events(), []);
    });
  });

  it("without a media port, media gets the cannotShow notice", async () => {
    await open();
    const entry = await deliver({ kind: "media", media: fakeMedia({}), what: "a voice message" });
    assert.deepEqual(w.matrix.messages(), []);
    const [notice] = w.matrix.events();
    assert.equal(notice?.content.body, `⚠ ${ANNA_LABEL} sent a voice message, which this bridge cannot show. Open FakeNet to see it.`);
    assert.equal(notice?.content.msgtype, "m.notice");
    assert.equal(notice?.txnId, `unsup-${entry.messageId}`);
  });

  describe("edit", () => {
    beforeEach(async () => open());

    it("of a bridged message of the contact is an m.replace", async () => {
      const { first, firstEvent, room } = await chatWithMessage("helo");
      const edit = await deliver({ kind: "edit", targetId: first.messageId, text: "hello" });
      assert.deepEqual(w.matrix.messages().at(-1), {
        asUser: ANNA_PUPPET,
        roomId: room,
        type: "m.room.message",
        content: { msgtype: "m.text", body: "* hello", "m.new_content": { msgtype: "m.text", body: "hello" }, "m.relates_to": { rel_type: "m.replace", event_id: firstEvent } },
        txnId: `in-${edit.messageId}`,
      });
    });

    it("of a message that never crossed the bridge is the new text with the ✏️ mark", async () => {
      await chatWithMessage();
      await deliver({ kind: "edit", targetId: newRemoteId(), text: "fixed" });
      assert.deepEqual(w.matrix.messages().at(-1)?.content, { msgtype: "m.text", body: "✏️ fixed" });
    });

    it("of one of the user's own messages does not replace it (the contact cannot edit what Alice wrote)", async () => {
      const { room } = await chatWithMessage();
      const mine = await mapOutgoing(room, Date.now());
      await deliver({ kind: "edit", targetId: mine.messageId, text: "forged" });
      assert.deepEqual(w.matrix.messages().at(-1)?.content, { msgtype: "m.text", body: "✏️ forged" });
    });
  });

  describe("delete", () => {
    beforeEach(async () => open());

    it("redacts the bridged message as the puppet", async () => {
      const { first, firstEvent, room } = await chatWithMessage();
      const del = await deliver({ kind: "delete", targetId: first.messageId });
      assert.deepEqual(w.matrix.called("redact").map((c) => c.args), [[ANNA_PUPPET, room, firstEvent, `revoke-${del.messageId}`, "Deleted on FakeNet"]]);
    });

    it("does nothing for a message that never crossed the bridge", async () => {
      await chatWithMessage();
      const before = w.matrix.calls.length;
      await deliver({ kind: "delete", targetId: newRemoteId() });
      assert.deepEqual(w.matrix.calls.slice(before), []);
    });

    it("does nothing for one of the user's own messages", async () => {
      const { room } = await chatWithMessage();
      const mine = await mapOutgoing(room, Date.now());
      await deliver({ kind: "delete", targetId: mine.messageId });
      assert.deepEqual(w.matrix.called("redact"), []);
    });
  });

  describe("reaction", () => {
    beforeEach(async () => open());

    it("becomes an m.reaction on the bridged message, remembered as the contact's", async () => {
      const { first, firstEvent, room } = await chatWithMessage();
      const r = await deliver({ kind: "reaction", targetId: first.messageId, emoji: "👍" });
      const [reaction] = w.matrix.events("m.reaction");
      assert.deepEqual(reaction, { asUser: ANNA_PUPPET, roomId: room, type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: firstEvent, key: "👍" } }, txnId: `in-${r.messageId}` });
      const row = await w.store.reactions.get(ALICE, ANNA, first.messageId, ANNA);
      assert.equal(row?.emoji, "👍");
      assert.equal((await w.store.reactions.byEvent(room, row!.eventId))?.reactor, ANNA);
    });

    it("reacts to the user's own messages too", async () => {
      const { room } = await chatWithMessage();
      const mine = await mapOutgoing(room, Date.now());
      await deliver({ kind: "reaction", targetId: mine.messageId, emoji: "❤️" });
      assert.equal((w.matrix.events("m.reaction")[0]?.content["m.relates_to"] as { event_id: string }).event_id, mine.eventId);
    });

    it("replaces the contact's previous reaction: the old one is redacted", async () => {
      const { first, room } = await chatWithMessage();
      await deliver({ kind: "reaction", targetId: first.messageId, emoji: "👍" });
      const oldEvent = (await w.store.reactions.get(ALICE, ANNA, first.messageId, ANNA))!.eventId;
      const second = await deliver({ kind: "reaction", targetId: first.messageId, emoji: "😂" });
      assert.deepEqual(w.matrix.called("redact").map((c) => c.args), [[ANNA_PUPPET, room, oldEvent, `unreact-${second.messageId}`, "Reaction changed"]]);
      assert.deepEqual(w.matrix.events("m.reaction").map((e) => (e.content["m.relates_to"] as { key: string }).key), ["👍", "😂"]);
      const row = await w.store.reactions.get(ALICE, ANNA, first.messageId, ANNA);
      assert.equal(row?.emoji, "😂");
      assert.notEqual(row?.eventId, oldEvent);
    });

    it("with an empty emoji takes the reaction back", async () => {
      const { first } = await chatWithMessage();
      await deliver({ kind: "reaction", targetId: first.messageId, emoji: "👍" });
      const oldEvent = (await w.store.reactions.get(ALICE, ANNA, first.messageId, ANNA))!.eventId;
      await deliver({ kind: "reaction", targetId: first.messageId, emoji: "" });
      assert.deepEqual(w.matrix.called("redact").map((c) => c.args[2]), [oldEvent]);
      assert.equal(w.matrix.events("m.reaction").length, 1);
      assert.equal(await w.store.reactions.get(ALICE, ANNA, first.messageId, ANNA), undefined);
    });

    it("to a message that never crossed the bridge is ignored", async () => {
      await chatWithMessage();
      await deliver({ kind: "reaction", targetId: newRemoteId(), emoji: "👍" });
      assert.deepEqual(w.matrix.events("m.reaction"), []);
      assert.deepEqual(w.matrix.called("redact"), []);
    });
  });

  describe("receipt", () => {
    it("read: the puppet's read receipt goes on the newest of the messages it covers", async () => {
      await open();
      const { room } = await chatWithMessage();
      const older = await mapOutgoing(room, 1_800_000_000_000);
      const newer = await mapOutgoing(room, 1_800_000_001_000);
      await deliver({ kind: "receipt", receipt: "read", messageIds: [newer.messageId, older.messageId, newRemoteId()] });
      assert.deepEqual(w.matrix.called("sendReadReceipt").map((c) => c.args), [[ANNA_PUPPET, room, newer.eventId]]);
    });

    it("played counts as read", async () => {
      await open();
      const { room } = await chatWithMessage();
      const voice = await mapOutgoing(room, 1_800_000_000_000);
      await deliver({ kind: "receipt", receipt: "played", messageIds: [voice.messageId] });
      assert.deepEqual(w.matrix.called("sendReadReceipt").map((c) => c.args[2]), [voice.eventId]);
    });

    it("read of messages that never crossed the bridge sends nothing", async () => {
      await open();
      await chatWithMessage();
      await deliver({ kind: "receipt", receipt: "read", messageIds: [newRemoteId()] });
      assert.deepEqual(w.matrix.called("sendReadReceipt"), []);
    });

    it("delivered: a message status on the user's message when message_status_events is on", async () => {
      await open({ bridge: { message_status_events: true } });
      const { room } = await chatWithMessage();
      const mine = await mapOutgoing(room, Date.now());
      await deliver({ kind: "receipt", receipt: "delivered", messageIds: [mine.messageId] });
      assert.deepEqual(w.matrix.events("com.beeper.message_send_status"), [
        {
          asUser: ANNA_PUPPET,
          roomId: room,
          type: "com.beeper.message_send_status",
          content: { network: "fakenet", "m.relates_to": { rel_type: "m.reference", event_id: mine.eventId }, status: "SUCCESS", delivered_to_users: [ANNA_PUPPET] },
          txnId: `mss-delivered-${mine.messageId}`,
        },
      ]);
      assert.deepEqual(w.matrix.called("sendReadReceipt"), []);
    });

    it("delivered: nothing for the contact's own messages", async () => {
      await open({ bridge: { message_status_events: true } });
      const { first } = await chatWithMessage();
      await deliver({ kind: "receipt", receipt: "delivered", messageIds: [first.messageId] });
      assert.deepEqual(w.matrix.events("com.beeper.message_send_status"), []);
    });

    it("delivered: nothing when message_status_events is off (the default)", async () => {
      await open();
      const { room } = await chatWithMessage();
      const mine = await mapOutgoing(room, Date.now());
      await deliver({ kind: "receipt", receipt: "delivered", messageIds: [mine.messageId] });
      assert.deepEqual(w.matrix.events("com.beeper.message_send_status"), []);
      assert.deepEqual(w.matrix.called("sendReadReceipt"), []);
    });
  });

  it("typing makes the puppet type in the portal", async () => {
    await open();
    const { room } = await chatWithMessage();
    await deliver({ kind: "typing", typing: true, audio: false });
    await deliver({ kind: "typing", typing: false, audio: false });
    assert.deepEqual(w.matrix.called("setTyping").map((c) => c.args), [
      [ANNA_PUPPET, room, true, 30_000],
      [ANNA_PUPPET, room, false, 30_000],
    ]);
  });

  describe("without a portal", () => {
    beforeEach(async () => open());

    for (const event of [
      { kind: "receipt", receipt: "read", messageIds: ["00"] },
      { kind: "typing", typing: true, audio: false },
      { kind: "delete", targetId: "00" },
      { kind: "reaction", targetId: "00", emoji: "👍" },
    ] satisfies RemoteEvent[]) {
      it(`${event.kind} does nothing and opens no portal`, async () => {
        await deliver(event);
        assert.deepEqual(w.matrix.calls, []);
        assert.deepEqual(w.remote.lookups, []);
        assert.equal(await portalRoom(), undefined);
      });
    }

    it("after the user left the portal, a reaction to an old message opens no new one", async () => {
      const { first, room } = await chatWithMessage();
      await w.core.handleMatrixEvent({ type: "m.room.member", room_id: room, sender: ALICE, state_key: ALICE, event_id: "$leave", content: { membership: "leave" } });
      const before = w.matrix.calls.length;
      await deliver({ kind: "reaction", targetId: first.messageId, emoji: "👍" });
      await deliver({ kind: "delete", targetId: first.messageId });
      assert.deepEqual(w.matrix.calls.slice(before), []);
      assert.equal(await portalRoom(), undefined);
    });
  });

  describe("what cannot be shown", () => {
    beforeEach(async () => open());

    it("unsupported content gets the cannotShow notice naming it", async () => {
      const entry = await deliver({ kind: "unsupported", what: "a poll", detail: "poll messages are not decoded" });
      const [notice, ...rest] = w.matrix.events();
      assert.deepEqual(rest, []);
      assert.deepEqual(notice, { asUser: ANNA_PUPPET, roomId: (await portalRoom())!, type: "m.room.message", content: { msgtype: "m.notice", body: `⚠ ${ANNA_LABEL} sent a poll, which this bridge cannot show. Open FakeNet to see it.` }, txnId: `unsup-${entry.messageId}` });
    });

    it("content the codec cannot read is unsupported too", async () => {
      const entry = inboxEntry({ kind: "message", text: "x" }, { content: new TextEncoder().encode("{not json") });
      await w.core.handleRemoteEntry(entry);
      assert.match(w.matrix.notices()[0]?.body ?? "", /sent fake garbage, which this bridge cannot show/);
    });
  });

  it("an entry that arrived after the contact's identity changed gets the security-code notice first", async () => {
    await open();
    const entry = await deliver({ kind: "message", text: "new phone" }, { identityChanged: true });
    const [notice, msg] = w.matrix.events();
    assert.equal(notice?.content.msgtype, "m.notice");
    assert.equal(notice?.content.body, `🔐 The security code of ${ANNA_LABEL} changed (new phone or reinstalled FakeNet). Messages stay end-to-end encrypted.`);
    assert.equal(notice?.txnId, `idc-${entry.messageId}`);
    assert.equal(notice?.asUser, ANNA_PUPPET);
    assert.equal(msg?.content.body, "new phone");
  });

  for (const event of [
    { kind: "typing", typing: true, audio: false },
    { kind: "receipt", receipt: "read", messageIds: ["00"] },
    { kind: "reaction", targetId: "00", emoji: "👍" },
  ] satisfies RemoteEvent[]) {
    it(`the security-code notice also comes with a ${event.kind} in an existing portal`, async () => {
      await open();
      const { room } = await chatWithMessage();
      const entry = await deliver(event, { identityChanged: true });
      assert.deepEqual(w.matrix.notices(), [{ asUser: ANNA_PUPPET, roomId: room, body: `🔐 The security code of ${ANNA_LABEL} changed (new phone or reinstalled FakeNet). Messages stay end-to-end encrypted.` }]);
      assert.equal(w.matrix.events().at(-1)?.txnId, `idc-${entry.messageId}`);
    });
  }

  it("an entry without an identity change gets no security-code notice", async () => {
    await open();
    await deliver({ kind: "message", text: "hi" });
    assert.deepEqual(w.matrix.notices(), []);
  });

  it("drops an entry from a sender that is not one of the network's users", async () => {
    await open();
    await deliver({ kind: "message", text: "buy now" }, { remoteUri: "provider:spam" });
    assert.deepEqual(w.matrix.calls, []);
    assert.deepEqual(w.remote.lookups, []);
    assert.deepEqual(await w.store.portals.forUser(ALICE), []);
  });
});
