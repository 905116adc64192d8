// Trust and safety in the core, over the fake network's scripted RemoteSafety: portal commands (security codes,
// verify, block, report), identity news announced once, messages held for verification, and a blocked contact.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import { groupDigits } from "../../src/core/commands/safety.js";
import { parseReportArgs } from "../../src/core/commands/moderation.js";
import type { OutboxEntry } from "../../src/store/outbox.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, inboxEntry, newRemoteId, type CoreWorld, type CoreWorldOptions, type ScriptedSafety } from "./fakes.js";

const ROOM = "!portal:example.org";
const MGMT = "!mgmt:example.org";
const ANNA_LABEL = "~4915112345678";

let seq = 0;
function text(body: string, room = ROOM, extra: Record<string, unknown> = {}): MatrixEvent {
  seq++;
  return { type: "m.room.message", room_id: room, sender: ALICE, event_id: `$s${seq}`, origin_server_ts: 1_800_000_000_000 + seq, content: { msgtype: "m.text", body, ...extra } };
}

describe("core: trust and safety", () => {
  let w: CoreWorld;
  let safety: ScriptedSafety;
  async function open(options: CoreWorldOptions = {}): Promise<void> {
    w = await coreWorld({ safety: true, directory: { [ANNA]: "Anna" }, ...options });
    safety = w.remote.safety!;
    await w.store.users.ensure(ALICE, `local:${ALICE}`);
    await w.store.users.setManagementRoom(ALICE, MGMT);
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId: ROOM, encrypted: false });
  }
  afterEach(async () => {
    await w?.close();
    w = undefined as unknown as CoreWorld;
  });

  /** What the contact's puppet said in the portal since `from`. */
  function portalNotices(from = 0): string[] {
    return w.matrix
      .notices()
      .slice(from)
      .filter((n) => n.asUser === ANNA_PUPPET && n.roomId === ROOM)
      .map((n) => n.body);
  }

  describe("portal commands", () => {
    beforeEach(() => open());

    it("shows the security code, grouped as phones show it, with the QR text, and sends nothing to the contact", async () => {
      await w.core.handleMatrixEvent(text("!fake safety-number"));
      assert.deepEqual(portalNotices(), [
        `🔐 Security code with ${ANNA_LABEL} (the same on ${ANNA_LABEL}'s phone if nobody is in between):\n12345 12345 12345 12345\n12345 12345 12345 12345\n12345 12345 12345 12345\nQR code content: UVI=`,
      ]);
      assert.equal((await w.store.outbox.pending()), 0);
      assert.equal(w.matrix.events().at(-1)?.txnId, `cmd-$s${seq}`);
    });

    it("names the device when the contact has several", async () => {
      safety.numbers = [
        { device: 1, digits: "1".repeat(60), qr: "AA==" },
        { device: 3, digits: "3".repeat(60), qr: "Aw==" },
      ];
      await w.core.handleMatrixEvent(text("!FAKE sn"));
      assert.match(portalNotices()[0]!, /Device 1: 11111 11111/);
      assert.match(portalNotices()[0]!, /Device 3: 33333 33333[^]*QR code content: Aw==/);
    });

    it("says when there is no security code yet", async () => {
      safety.numbers = [];
      await w.core.handleMatrixEvent(text("!fake safety-number"));
      assert.match(portalNotices()[0]!, /no security code with ~4915112345678 yet/);
    });

    it("verifies, with or without a code to check, and says when the code does not match", async () => {
      await w.core.handleMatrixEvent(text("!fake verify"));
      await w.core.handleMatrixEvent(text("!fake verify 12345 12345"));
      assert.deepEqual(safety.verified, [{ contact: ANNA }, { contact: ANNA, code: "12345 12345" }]);
      assert.match(portalNotices()[0]!, /^✅ You verified the security code with ~4915112345678/);
      safety.verifyResult = { ok: false, reason: "mismatch" };
      await w.core.handleMatrixEvent(text("!fake verify 999"));
      assert.match(portalNotices()[2]!, /^❌ That code does not match/);
    });

    it("answers an unknown or misplaced command in the chat, never passing it on", async () => {
      await w.core.handleMatrixEvent(text("!fake frobnicate"));
      await w.core.handleMatrixEvent(text("!fake start-chat 1234"));
      await w.core.handleMatrixEvent(text("!fake"));
      const said = portalNotices();
      assert.match(said[0]!, /^Unknown command "frobnicate"\. Send "!fake help"/);
      assert.equal(said[1], `"start-chat" works in your management room with the bridge, not in a chat.`);
      assert.match(said[2]!, /^Commands in this chat[^]*• !fake safety-number[^]*• !fake report/);
      assert.doesNotMatch(said[2]!, /start-chat/);
      assert.equal((await w.store.outbox.pending()), 0);
    });

    it("a portal-only command in the management room says where it works", async () => {
      await w.core.handleMatrixEvent(text("verify", MGMT));
      assert.deepEqual(w.matrix.notices().map((n) => [n.asUser, n.body]), [[BOT, 'Send "!fake verify" in the chat with the contact, not here.']]);
    });

    it("a message that merely mentions the prefix later is still a message", async () => {
      await w.core.handleMatrixEvent(text("see !fake docs"));
      assert.equal((await w.store.outbox.pending()), 1);
    });
  });

  describe("block, unblock, blocked", () => {
    beforeEach(() => open());

    it("blocks a number from the management room, and the portal says so", async () => {
      await w.core.handleMatrixEvent(text("block +49 151 12345678", MGMT));
      assert.deepEqual([...safety.blocks], [ANNA]);
      const [inPortal, reply] = w.matrix.notices();
      assert.equal(inPortal?.roomId, ROOM);
      assert.match(inPortal!.body, /^🚫 You blocked ~4915112345678\. FakeNet refuses their messages/);
      assert.equal(reply?.roomId, MGMT);
      assert.equal(reply?.body, inPortal?.body);
    });

    it("blocks the chat's contact from inside the chat, lists and unblocks", async () => {
      await w.core.handleMatrixEvent(text("!fake block"));
      assert.deepEqual([...safety.blocks], [ANNA]);
      assert.equal(portalNotices().length, 1, "one notice: the reply is the portal's");
      await w.core.handleMatrixEvent(text("blocked", MGMT));
      assert.equal(w.matrix.notices().at(-1)?.body, "You blocked:\n• ~4915112345678");
      await w.core.handleMatrixEvent(text("unblock 4915112345678", MGMT));
      assert.deepEqual([...safety.blocks], []);
      await w.core.handleMatrixEvent(text("blocked", MGMT));
      assert.equal(w.matrix.notices().at(-1)?.body, "You have blocked nobody.");
    });

    it("in the management room without a number answers with the usage; a bad number with why", async () => {
      await w.core.handleMatrixEvent(text("block", MGMT));
      await w.core.handleMatrixEvent(text("block 12", MGMT));
      assert.deepEqual(w.matrix.notices().map((n) => n.body), ["Usage: block <fake number>, for example: block 1234", '"12" is no fake number']);
      assert.deepEqual([...safety.blocks], []);
    });

    it("refuses to send to a blocked contact, saying how to unblock", async () => {
      safety.blocks.add(ANNA);
      await w.core.handleMatrixEvent(text("hello?"));
      assert.equal((await w.store.outbox.pending()), 0);
      assert.deepEqual(portalNotices(), ['⚠ Not delivered: you blocked ~4915112345678; send "!fake unblock" to write to them again.']);
    });
  });

  describe("report", () => {
    beforeEach(() => open());

    async function incoming(n: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const messageId = newRemoteId();
        ids.push(messageId);
        await w.store.messages.put({ matrixUser: ALICE, remoteUri: ANNA, messageId, roomId: ROOM, eventId: `$in-${messageId}`, direction: "in", sender: ANNA, timestamp: 1_000 + i });
      }
      return ids;
    }

    it("reports the contact's last messages, newest first, with the reason given", async () => {
      const ids = await incoming(4);
      await w.core.handleMatrixEvent(text("!fake report 2 scam"));
      assert.deepEqual(safety.reports, [{ contact: ANNA, messageIds: [ids[3], ids[2]], reason: "scam" }]);
      assert.match(portalNotices()[0]!, /^🚩 You reported ~4915112345678 to FakeNet, with 2 messages as evidence \(reference r-1\)/);
    });

    it("by default names five messages and the reason spam; as a reply, the message replied to as well", async () => {
      const ids = await incoming(8);
      await w.core.handleMatrixEvent(text("!fake report", ROOM, { "m.relates_to": { "m.in_reply_to": { event_id: `$in-${ids[0]}` } } }));
      assert.deepEqual(safety.reports[0], { contact: ANNA, messageIds: [ids[0], ids[7], ids[6], ids[5], ids[4], ids[3]], reason: "spam" });
    });

    it("refuses arguments it cannot read", async () => {
      await w.core.handleMatrixEvent(text("!fake report lots"));
      assert.match(portalNotices()[0]!, /"lots" is neither a number of messages nor a reason/);
      assert.deepEqual(safety.reports, []);
      assert.throws(() => parseReportArgs("51"), /0 to 50/);
      assert.deepEqual(parseReportArgs("abuse 0"), { count: 0, reason: "abuse" });
    });
  });

  describe("identity news", () => {
    it("is announced once, before the message that came with it, naming the device", async () => {
      await open();
      safety.news.set(ANNA, [{ device: 2, kind: "changed", wasVerified: false, ref: "ref1" }]);
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "new phone" }));
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "still me" }));
      // The first message of the chat opens the portal room (the fake's rooms are made up): look at the puppet's events.
      const events = w.matrix.events().filter((e) => e.asUser === ANNA_PUPPET && e.type === "m.room.message");
      assert.match(String(events[0]?.content.body), /^🔐 The security code with ~4915112345678 changed \(device 2: a new phone or FakeNet reinstalled\)[^]*"!fake safety-number"/);
      assert.equal(events[0]?.txnId, "idn-ref1");
      assert.equal(events[1]?.content.body, "new phone");
      assert.equal(events[2]?.content.body, "still me");
      assert.deepEqual(safety.told.map((n) => n.ref), ["ref1"]);
    });

    it("a new device, and a change seen by a send, are announced after the send", async () => {
      await open();
      safety.news.set(ANNA, [{ device: 4, kind: "new_device", wasVerified: false, ref: "dev4" }]);
      await w.core.onSent(outboxEntry());
      assert.equal(portalNotices().length, 1);
      assert.match(portalNotices()[0]!, /^🔐 ~4915112345678 added a new device \(device 4\), with a security code of its own/);
      await w.core.onSent(outboxEntry());
      assert.equal(portalNotices().length, 1);
    });

    it("a verified contact's change is prominent, and with block_until_verified says messages are held", async () => {
      await open({ bridge: { identity_change: "block_until_verified" } });
      safety.news.set(ANNA, [{ device: 1, kind: "changed", wasVerified: true, ref: "v1" }]);
      const held = outboxEntry();
      await w.core.onSendHeld(held);
      await w.core.onSendHeld(held); // a retry of the same message: no second notice
      const said = portalNotices();
      assert.equal(said.length, 2, JSON.stringify(said));
      assert.match(said[0]!, /^⚠️🔐 THE SECURITY CODE WITH ~4915112345678 CHANGED, and you had verified it \(device 1\)[^]*"!fake verify"\. Until then, your messages here are held, not sent\.$/);
      assert.match(said[1]!, /^⏸ Not sent yet: the security code with ~4915112345678 changed since you verified it/);
    });

    it("a network without RemoteSafety still gets the entry's flag as a notice", async () => {
      await open({ safety: false });
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }, { identityChanged: true }));
      assert.match(w.matrix.notices().find((n) => n.asUser === ANNA_PUPPET)?.body ?? "", /^🔐 The security code of ~4915112345678 changed/);
    });
  });
});

it("core: security codes are grouped in twelve fives, four per line", () => {
  assert.equal(groupDigits("012345678901234567890123456789012345678901234567890123456789"), "01234 56789 01234 56789\n01234 56789 01234 56789\n01234 56789 01234 56789");
});

let outboxSeq = 0;
function outboxEntry(): OutboxEntry {
  outboxSeq++;
  return { seq: outboxSeq, matrixUser: ALICE, remoteUri: ANNA, messageId: newRemoteId(), roomId: ROOM, eventId: `$out${outboxSeq}`, content: new Uint8Array([1]), envelopes: null, attempts: 0, notBefore: 0, createdAt: 0 };
}
