// What happened to queued work, as the runtime reports it: every failure is told in the room, in plain words.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import type { RemoteFailureReason } from "../../src/core/ports.js";
import type { OutboxEntry } from "../../src/store/outbox.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, inboxEntry, newRemoteId, type CoreWorld, type CoreWorldOptions } from "./fakes.js";

const ROOM = "!portal:example.org";
const WHO = "~4915112345678";
const SECRET = "ratchet state 0xdeadbeef at /var/lib/bridge";

function outboxEntry(overrides: Partial<OutboxEntry> = {}): OutboxEntry {
  const messageId = newRemoteId();
  return { seq: 1, matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: ROOM, eventId: `$ev-${messageId}`, content: new Uint8Array(), envelopes: null, attempts: 1, notBefore: 0, createdAt: 0, ...overrides };
}

describe("core: outcomes of queued work", () => {
  let w: CoreWorld;
  async function open(options: CoreWorldOptions = {}): Promise<void> {
    w = await coreWorld(options);
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId: ROOM, encrypted: false });
  }
  afterEach(async () => w.close());

  /** The reference in a notice, and that the log has the error under it. */
  function referenceLogged(body: string, errorText: string): void {
    const ref = /reference ([0-9a-f]{8})/.exec(body)?.[1];
    assert.ok(ref, body);
    const line = w.logs.find((l) => l.ref === ref);
    assert.ok(line, `no log line with ref ${ref}`);
    assert.match(JSON.stringify(line), new RegExp(errorText.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  }

  describe("onSendFailed", () => {
    const sentences: Record<Exclude<RemoteFailureReason, "internal">, string> = {
      unknown_user: `${WHO} is not on FakeNet.`,
      not_opted_in: `${WHO} has not opted in on FakeNet.`,
      blocked: `${WHO} has blocked you on FakeNet.`,
      rate_limited: "FakeNet is limiting how fast messages can be sent; try again in a moment.",
      invalid: "FakeNet refused the message as invalid.",
      unreachable: "FakeNet cannot be reached right now.",
    };
    for (const [reason, sentence] of Object.entries(sentences)) {
      it(`${reason}: a notice naming the reason in the network's words`, async () => {
        await open();
        const entry = outboxEntry();
        await w.core.onSendFailed(entry, reason as RemoteFailureReason, SECRET);
        assert.deepEqual(w.matrix.events(), [{ asUser: ANNA_PUPPET, roomId: ROOM, type: "m.room.message", content: { msgtype: "m.notice", body: `⚠ Not delivered: ${sentence}` }, txnId: `fail-${entry.messageId}` }]);
      });
    }

    it("internal: a reference instead of the detail, which is logged under it", async () => {
      await open();
      await w.core.onSendFailed(outboxEntry(), "internal", SECRET);
      const [notice] = w.matrix.notices();
      assert.match(notice?.body ?? "", /^⚠ Not delivered: Something went wrong in the bridge \(reference [0-9a-f]{8}; the bridge admin can look it up in the log\)\.$/);
      referenceLogged(notice!.body, SECRET);
    });

    it("with message status events on, also a FAIL_PERMANENT status on the user's event, before the notice", async () => {
      await open({ bridge: { message_status_events: true } });
      const entry = outboxEntry();
      await w.core.onSendFailed(entry, "blocked", SECRET);
      const [status, notice] = w.matrix.events();
      assert.deepEqual(status, {
        asUser: ANNA_PUPPET,
        roomId: ROOM,
        type: "com.beeper.message_send_status",
        content: { network: "fakenet", "m.relates_to": { rel_type: "m.reference", event_id: entry.eventId }, status: "FAIL_PERMANENT", reason: "m.foreign_network_error", message: `${WHO} has blocked you on FakeNet.` },
        txnId: `mss-fail-${entry.messageId}`,
      });
      assert.equal(notice?.content.body, `⚠ Not delivered: ${WHO} has blocked you on FakeNet.`);
    });

    it("says nothing for what has no room (receipts, typing)", async () => {
      await open({ bridge: { message_status_events: true } });
      await w.core.onSendFailed(outboxEntry({ roomId: null, eventId: null }), "blocked", SECRET);
      assert.deepEqual(w.matrix.calls, []);
    });
  });

  describe("onSendDelayed", () => {
    beforeEach(async () => open());
    const outage = "⏳ FakeNet cannot be reached right now. Your messages are kept and will be sent automatically when the connection is back.";

    it("tells each room once per outage, until a message is sent again", async () => {
      const first = outboxEntry();
      await w.core.onSendDelayed(first, "ECONNREFUSED");
      await w.core.onSendDelayed(outboxEntry(), "ECONNREFUSED");
      assert.deepEqual(w.matrix.notices(), [{ asUser: ANNA_PUPPET, roomId: ROOM, body: outage }]);
      assert.equal(w.matrix.events()[0]?.txnId, `delay-${first.messageId}`);

      await w.core.onSendDelayed(outboxEntry({ roomId: "!other:example.org" }), "ECONNREFUSED");
      assert.deepEqual(w.matrix.notices().map((n) => n.roomId), [ROOM, "!other:example.org"]);

      await w.core.onSent(outboxEntry());
      await w.core.onSendDelayed(outboxEntry(), "ECONNREFUSED");
      await w.core.onSendDelayed(outboxEntry({ roomId: "!other:example.org" }), "ECONNREFUSED");
      assert.deepEqual(w.matrix.notices().map((n) => n.roomId), [ROOM, "!other:example.org", ROOM]);
      assert.ok(w.matrix.notices().every((n) => !n.body.includes("ECONNREFUSED")));
    });
  });

  describe("onSent", () => {
    it("posts a SUCCESS status when message status events are on", async () => {
      await open({ bridge: { message_status_events: true } });
      const entry = outboxEntry();
      await w.core.onSent(entry);
      assert.deepEqual(w.matrix.events(), [
        {
          asUser: ANNA_PUPPET,
          roomId: ROOM,
          type: "com.beeper.message_send_status",
          content: { network: "fakenet", "m.relates_to": { rel_type: "m.reference", event_id: entry.eventId }, status: "SUCCESS" },
          txnId: `mss-sent-${entry.messageId}`,
        },
      ]);
    });

    it("posts nothing when they are off, or for what has no event", async () => {
      await open();
      await w.core.onSent(outboxEntry());
      w.close();
      await open({ bridge: { message_status_events: true } });
      await w.core.onSent(outboxEntry({ eventId: null, roomId: null }));
      assert.deepEqual(w.matrix.calls, []);
    });
  });

  describe("onRemoteEntryAbandoned", () => {
    beforeEach(async () => open());

    it("tells the user a message could not be shown, with a reference and no internal text", async () => {
      const entry = inboxEntry({ kind: "message", text: "hi" });
      await w.core.onRemoteEntryAbandoned(entry, new Error(SECRET));
      const [notice, ...rest] = w.matrix.events();
      assert.deepEqual(rest, []);
      assert.equal(notice?.asUser, ANNA_PUPPET);
      assert.equal(notice?.roomId, ROOM);
      assert.equal(notice?.txnId, `lost-${entry.messageId}`);
      const body = String(notice?.content.body);
      assert.match(body, new RegExp(`^⚠ A message from ${WHO} could not be shown here\\. Something went wrong in the bridge \\(reference [0-9a-f]{8}; .*\\)\\. Open FakeNet to see it\\.$`));
      assert.ok(!body.includes("deadbeef") && !body.includes("/var/lib"));
      referenceLogged(body, SECRET);
    });

    it("says nothing without a portal, or for a sender that is no contact", async () => {
      await w.core.onRemoteEntryAbandoned(inboxEntry({ kind: "message", text: "hi" }, { remoteUri: "fake:1111" }), new Error(SECRET));
      await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: "provider:x", roomId: "!x:example.org", encrypted: false });
      await w.core.onRemoteEntryAbandoned(inboxEntry({ kind: "message", text: "hi" }, { remoteUri: "provider:x" }), new Error(SECRET));
      assert.deepEqual(w.matrix.calls, []);
    });
  });

  describe("onMatrixEventAbandoned", () => {
    beforeEach(async () => open());
    const ev = (type: string, sender = ALICE, room = ROOM): MatrixEvent => ({ type, room_id: room, sender, event_id: `$${type}-${sender}`, content: {} });

    it("tells the sender their message was not delivered, with a reference and no internal text", async () => {
      for (const type of ["m.room.message", "m.reaction", "m.room.encrypted"]) {
        await w.core.onMatrixEventAbandoned(ev(type), new Error(SECRET));
      }
      const events = w.matrix.events();
      assert.deepEqual(events.map((e) => e.txnId), ["$m.room.message", "$m.reaction", "$m.room.encrypted"].map((id) => `abandon-${id}-${ALICE}`));
      for (const e of events) {
        assert.equal(e.asUser, ANNA_PUPPET);
        assert.match(String(e.content.body), /^⚠ Not delivered\. Something went wrong in the bridge \(reference [0-9a-f]{8};/);
        assert.ok(!String(e.content.body).includes("deadbeef"));
        referenceLogged(String(e.content.body), SECRET);
      }
    });

    it("says nothing for other event types, other senders, or rooms that are no portal", async () => {
      await w.core.onMatrixEventAbandoned(ev("m.room.redaction"), new Error(SECRET));
      await w.core.onMatrixEventAbandoned(ev("m.room.message", "@bob:example.org"), new Error(SECRET));
      await w.core.onMatrixEventAbandoned(ev("m.room.message", ALICE, "!elsewhere:example.org"), new Error(SECRET));
      assert.deepEqual(w.matrix.calls, []);
    });
  });

  describe("onSendRateLimited", () => {
    beforeEach(() => open());

    it("tells the room once while the network limits the user, and again after one went out", async () => {
      await w.core.onSendRateLimited(outboxEntry(), 90_000);
      await w.core.onSendRateLimited(outboxEntry(), 30_000);
      await w.core.onSendRateLimited(outboxEntry(), undefined);
      const bodies = () => w.matrix.notices().filter((n) => n.roomId === ROOM).map((n) => n.body);
      assert.deepEqual(bodies(), ["⏳ Not sent yet: FakeNet is limiting how fast messages can be sent. It is kept and goes out by itself in about 2 minutes."]);
      await w.core.onSent(outboxEntry());
      await w.core.onSendRateLimited(outboxEntry(), undefined);
      assert.equal(bodies().length, 2);
      assert.equal(bodies()[1], "⏳ Not sent yet: FakeNet is limiting how fast messages can be sent. It is kept and goes out by itself shortly.");
    });
  });
});
