// The bridge-side inbox rules in the core, over the fakes and a real SQLite store: flood limits per Matrix user
// (held with one notice per room, or refused; new chats refused over the hour's limit), who may reach the user
// (everyone, contacts, nobody) and the space of their chats.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import type { OutboxEntry } from "../../src/store/outbox.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, type CoreWorld, type CoreWorldOptions } from "./fakes.js";

const MGMT = "!mgmt:example.org";
const BERT = "fake:4915133333333";
const CARL = "fake:4915144444444";

let seq = 0;
const member = (sender: string, target: string, membership: string, roomId: string): MatrixEvent => ({
  type: "m.room.member",
  room_id: roomId,
  sender,
  state_key: target,
  event_id: `$in${++seq}`,
  content: { membership },
});

describe("core: limits, reachability and the space", () => {
  let w: CoreWorld;
  async function open(bridge: CoreWorldOptions["bridge"] = {}): Promise<void> {
    w = await coreWorld({ directory: { [ANNA]: "Anna", [BERT]: "Bert", [CARL]: "Carl" }, bridge });
    await w.core.handleMatrixEvent(member(ALICE, BOT, "invite", MGMT));
  }
  afterEach(async () => {
    await w?.close();
    w = undefined as unknown as CoreWorld;
  });

  async function command(body: string): Promise<string> {
    const eventId = `$cmd${++seq}`;
    await w.core.handleMatrixEvent({ type: "m.room.message", room_id: MGMT, sender: ALICE, event_id: eventId, content: { msgtype: "m.text", body } });
    return String(w.matrix.events().find((e) => e.txnId === `cmd-${eventId}`)?.content.body);
  }
  const outboxEntry = (messageId: string, roomId: string | null, eventId: string | null): OutboxEntry => ({
    seq: 0, matrixUser: ALICE, remoteUri: ANNA, messageId, roomId, eventId, content: new Uint8Array(), envelopes: null, attempts: 0, notBefore: 0, createdAt: 0,
  });

  describe("messages per minute", () => {
    it("holds what is over the limit, saying so once per room until one goes out; receipts are not counted", async () => {
      await open({ limits: { messages_per_minute: 2 } });
      const room = "!portal:example.org";
      assert.deepEqual(await w.core.admitSend(outboxEntry("M1", room, "$1")), { kind: "go" });
      assert.deepEqual(await w.core.admitSend(outboxEntry("M2", room, "$2")), { kind: "go" });
      const held = await w.core.admitSend(outboxEntry("M3", room, "$3"));
      assert.equal(held.kind, "held");
      assert.ok(held.kind === "held" && held.retryAfterMs > 55_000 && held.retryAfterMs <= 60_000);
      assert.equal((await w.core.admitSend(outboxEntry("M4", room, "$4"))).kind, "held");
      assert.deepEqual(await w.core.admitSend(outboxEntry("R1", room, null)), { kind: "go" }, "a receipt or typing state");
      const notices = w.matrix.notices().filter((n) => n.roomId === room);
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.asUser, ANNA_PUPPET);
      assert.match(notices[0]!.body, /^⏳ Not sent yet: this bridge lets you send 2 messages a minute/);
      assert.deepEqual(await w.core.admitSend(outboxEntry("M1", room, "$1")), { kind: "go" }, "a counted message is let through again (a retried send)");
    });

    it("refuses each message over the limit with a notice when set to refuse", async () => {
      await open({ limits: { messages_per_minute: 1, messages_over_limit: "refuse" } });
      const room = "!portal:example.org";
      await w.core.admitSend(outboxEntry("M1", room, "$1"));
      assert.deepEqual(await w.core.admitSend(outboxEntry("M2", room, "$2")), { kind: "refused" });
      assert.deepEqual(await w.core.admitSend(outboxEntry("M3", room, "$3")), { kind: "refused" });
      const bodies = w.matrix.notices().filter((n) => n.roomId === room).map((n) => n.body);
      assert.deepEqual(bodies, [1, 2].map(() => "⚠ Not delivered: you sent more than 1 message in a minute, which is this bridge's limit; wait a moment and send it again"));
    });
  });

  describe("new chats per hour", () => {
    it("refuses a new chat over the limit, saying when the next one is possible; reopening one is not new", async () => {
      await open({ limits: { new_portals_per_hour: 2 } });
      assert.match(await command("start-chat 4915112345678"), /^Chat with .* is ready/);
      assert.match(await command("start-chat 4915133333333"), /^Chat with .* is ready/);
      assert.equal(await command("start-chat 4915144444444"), "⚠ You opened 2 new chats in the last hour, which is this bridge's limit. You can open the next one in about 60 minutes; chats you already have keep working.");
      assert.equal(await w.store.portals.get(ALICE, CARL), undefined);
      assert.match(await command("start-chat 4915112345678"), /^Chat with .* is ready/);
    });
  });

  describe("per remote sender", () => {
    const BOB = "@bob:example.org";

    it("takes a sender's envelopes up to the minute's limit, counting only those taken, and says when the next fits", async () => {
      await open({ limits: { sender_messages_per_minute: 2 } });
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(await w.core.admitRemoteSender(ALICE, BERT), { ok: true });
        w.core.countRemoteSender(BERT);
      }
      const refused = await w.core.admitRemoteSender(BOB, BERT);
      assert.equal(refused.ok, false, "the limit is the sender's, over all of the bridge's users");
      assert.ok(!refused.ok && refused.retryAfterMs > 55_000 && refused.retryAfterMs <= 60_000);
      assert.match(!refused.ok ? refused.detail : "", /limit of 2 messages per minute/);
      assert.deepEqual(await w.core.admitRemoteSender(ALICE, CARL), { ok: true }, "another sender has a budget of its own");
    });

    it("counts a new chat once per user, and a contact writing in a chat the user has is no new chat", async () => {
      await open({ limits: { sender_new_chats_per_hour: 1 } });
      await command("start-chat 4915112345678");
      assert.deepEqual(await w.core.admitRemoteSender(ALICE, ANNA), { ok: true }, "Alice has a portal with Anna");
      assert.deepEqual(await w.core.admitRemoteSender(BOB, ANNA), { ok: true }, "Anna's first new chat");
      assert.deepEqual(await w.core.admitRemoteSender(BOB, ANNA), { ok: true }, "the same chat again: counted once");
      assert.deepEqual(await w.core.admitRemoteSender(ALICE, BERT), { ok: true }, "Bert's first new chat");
      const refused = await w.core.admitRemoteSender(BOB, BERT);
      assert.ok(!refused.ok && /limit of 1 new chats per hour/.test(refused.detail) && refused.retryAfterMs > 3_500_000);
    });
  });

  describe("reachability", () => {
    it("lets everyone through by default, only contacts with `contacts`, nobody with `nobody`", async () => {
      await open();
      assert.equal(await w.core.reachableBy(ALICE, BERT), true);
      assert.match(await command("reachable contacts"), /^✅ From now on, only your contacts can write to you from FakeNet/);
      assert.equal(await w.core.reachableBy(ALICE, BERT), false);
      await command("start-chat 4915133333333");
      assert.equal(await w.core.reachableBy(ALICE, BERT), true, "a number the user opened a chat with");
      assert.equal(await w.core.reachableBy(ALICE, ANNA), false);
      assert.match(await command("reachable nobody"), /^✅ From now on, nobody can write to you/);
      assert.equal(await w.core.reachableBy(ALICE, BERT), false);
      assert.match(await command("reachable"), /^Now nobody can write to you/);
      assert.equal(await command("reachable friends"), "Usage: reachable [everyone|contacts|nobody], for example: reachable contacts");
      await command("reachable everyone");
      assert.equal(await w.core.reachableBy(ALICE, ANNA), true);
    });

    it("takes the config's default for users who did not choose", async () => {
      await open({ default_reachable: "nobody" });
      assert.equal(await w.core.reachableBy(ALICE, ANNA), false);
    });
  });

  describe("the space", () => {
    it("is made with the management room, gets each portal when it opens and loses it when the user leaves", async () => {
      await open();
      const [create] = w.matrix.called("createSpace");
      assert.deepEqual(create?.args, [{ inviteUserId: ALICE, name: "FakeNet", topic: "Your FakeNet chats, bridged" }]);
      const space = (await w.store.users.get(ALICE))!.spaceRoom!;
      assert.deepEqual([...w.matrix.spaces.get(space)!], [MGMT]);
      await command("start-chat 4915112345678");
      const room = (await w.store.portals.get(ALICE, ANNA))!.roomId!;
      assert.deepEqual([...w.matrix.spaces.get(space)!].sort(), [MGMT, room].sort());
      await w.core.handleMatrixEvent(member(ALICE, ALICE, "leave", room));
      assert.deepEqual([...w.matrix.spaces.get(space)!], [MGMT]);
    });

    it("is not made again after the user left it, until they ask", async () => {
      await open();
      const space = (await w.store.users.get(ALICE))!.spaceRoom!;
      await w.core.handleMatrixEvent(member(ALICE, ALICE, "leave", space));
      assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args.slice(0, 2)), [[BOT, space]]);
      await command("start-chat 4915112345678");
      assert.equal(w.matrix.called("createSpace").length, 1);
      assert.match(await command("space"), /^Your FakeNet chats are in this space: https:\/\/matrix\.to\/#\/!space2:example\.org/);
      assert.equal(w.matrix.spaces.get("!space2:example.org")!.size, 2, "the management room and the chat");
    });

    it("is not made when spaces are off", async () => {
      await open({ personal_space: false });
      await command("start-chat 4915112345678");
      assert.equal(w.matrix.called("createSpace").length, 0);
      assert.equal(await command("space"), "This bridge is set up without a space for your chats.");
    });
  });
});
