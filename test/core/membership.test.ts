// Room membership and the portal lifecycle: the bot's management room, portals adopted from invites, made by
// start-chat, and forgotten when the user leaves.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import { RemoteError } from "../../src/core/ports.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, inboxEntry, sentEvents, type CoreWorld } from "./fakes.js";

let seq = 0;
function member(sender: string, target: string, membership: string, roomId: string, unsigned?: Record<string, unknown>): MatrixEvent {
  return { type: "m.room.member", room_id: roomId, sender, state_key: target, event_id: `$mb${++seq}`, content: { membership, ...(membership === "invite" ? { is_direct: true } : {}) }, ...(unsigned ? { unsigned } : {}) };
}

describe("core: membership and portals", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld({ directory: { [ANNA]: "Anna" } });
  });
  afterEach(async () => w.close());

  describe("the management room", () => {
    it("a bot invite from an allowed user: the bot joins, registers the room and posts the help", async () => {
      const ev = member(ALICE, BOT, "invite", "!mgmt:example.org");
      await w.core.handleMatrixEvent(ev);
      assert.deepEqual(w.matrix.called("joinRoom").map((c) => c.args), [[BOT, "!mgmt:example.org"]]);
      assert.equal((await w.store.users.get(ALICE))?.managementRoom, "!mgmt:example.org");
      assert.equal((await w.store.users.get(ALICE))?.interopUri, `local:${ALICE}`);
      const [help] = w.matrix.events();
      assert.equal(help?.asUser, BOT);
      assert.equal(help?.txnId, `help-${ev.event_id}`);
      assert.equal(help?.content.msgtype, "m.notice");
      assert.match(String(help?.content.body), /^This is the FakeNet bridge\. Commands:\n• start-chat <fake number>/);
      assert.deepEqual(w.remote.identities, [ALICE], "reachable from now on: strangers' first messages come as requests");
    });

    it("commands in the registered room are answered there by the bot", async () => {
      await w.core.handleMatrixEvent(member(ALICE, BOT, "invite", "!mgmt:example.org"));
      await w.core.handleMatrixEvent({ type: "m.room.message", room_id: "!mgmt:example.org", sender: ALICE, event_id: "$ping", content: { msgtype: "m.text", body: "ping" } });
      const last = w.matrix.events().at(-1);
      assert.equal(last?.txnId, "cmd-$ping");
      assert.match(String(last?.content.body), /^Bridge is connected to FakeNet/);
    });

    it("leaving it unregisters the room and the bot leaves too", async () => {
      await w.core.handleMatrixEvent(member(ALICE, BOT, "invite", "!mgmt:example.org"));
      await w.core.handleMatrixEvent(member(ALICE, ALICE, "leave", "!mgmt:example.org"));
      assert.equal((await w.store.users.get(ALICE))?.managementRoom, null);
      assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args.slice(0, 2)), [[BOT, "!mgmt:example.org"]]);
      const before = w.matrix.calls.length;
      await w.core.handleMatrixEvent({ type: "m.room.message", room_id: "!mgmt:example.org", sender: ALICE, event_id: "$late", content: { msgtype: "m.text", body: "help" } });
      assert.deepEqual(w.matrix.calls.slice(before), []);
    });
  });

  describe("a portal", () => {
    async function portalByMessage(): Promise<string> {
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
      return (await w.store.portals.get(ALICE, ANNA))!.roomId!;
    }

    it("the user leaving forgets it and the puppet leaves; the next message makes a new room", async () => {
      const room = await portalByMessage();
      await w.core.handleMatrixEvent(member(ALICE, ALICE, "leave", room));
      assert.equal(await w.store.portals.byRoom(room), undefined);
      assert.equal((await w.store.portals.get(ALICE, ANNA))?.roomId, null);
      assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args.slice(0, 2)), [[ANNA_PUPPET, room]]);
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "still there?" }));
      const newRoom = (await w.store.portals.get(ALICE, ANNA))?.roomId;
      assert.ok(newRoom && newRoom !== room);
      assert.equal(w.matrix.messages().at(-1)?.roomId, newRoom);
    });

    it("asks the homeserver for its members once, and again after a membership event in the room", async () => {
      const room = await portalByMessage();
      w.matrix.members.get(room)!.add(ALICE); // the user accepted the invite
      const asked = () => w.matrix.called("joinedMembers").length;
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "one" }));
      const first = asked();
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "two" }));
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "three" }));
      assert.equal(asked(), first, "the members were asked again although nothing changed");
      await w.core.handleMatrixEvent(member("@bob:example.org", "@bob:example.org", "leave", room));
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "four" }));
      assert.equal(asked(), first + 1);
      assert.deepEqual(w.matrix.messages().slice(-4).map((m) => m.content.body), ["one", "two", "three", "four"]);
    });

    it("someone else leaving it changes nothing", async () => {
      const room = await portalByMessage();
      await w.core.handleMatrixEvent(member("@bob:example.org", "@bob:example.org", "leave", room));
      assert.equal((await w.store.portals.byRoom(room))?.matrixUser, ALICE);
      assert.deepEqual(w.matrix.called("leaveRoom"), []);
    });

    it("start-chat opens it after setting up the user's identity and looking the contact up, and reuses it (inviting again)", async () => {
      const room = await w.core.startChat(ALICE, ANNA);
      assert.deepEqual(w.remote.identities, [ALICE]);
      assert.deepEqual(w.remote.lookups, [ANNA]);
      assert.equal((await w.store.portals.get(ALICE, ANNA))?.roomId, room);
      assert.equal((w.matrix.called("createPortalRoom")[0]?.args[0] as { name: string }).name, "Anna");
      assert.equal(await w.core.startChat(ALICE, ANNA), room);
      assert.equal(w.matrix.called("createPortalRoom").length, 1);
      assert.deepEqual(w.matrix.called("invite").map((c) => c.args), [[ANNA_PUPPET, room, ALICE]]);
    });

    it("start-chat with a contact the directory refuses makes no room", async () => {
      w.remote.failing.set(ANNA, new RemoteError("unknown_user", "no such user"));
      await assert.rejects(w.core.startChat(ALICE, ANNA), RemoteError);
      assert.deepEqual(w.matrix.called("createPortalRoom"), []);
      assert.equal(await w.store.portals.get(ALICE, ANNA), undefined);
    });
  });

  describe("inviting a puppet", () => {
    it("adopts the room as the portal: the puppet joins and gets the contact's profile", async () => {
      const ev = member(ALICE, ANNA_PUPPET, "invite", "!dm:example.org");
      await w.core.handleMatrixEvent(ev);
      assert.deepEqual(w.matrix.called("joinRoom").map((c) => c.args), [[ANNA_PUPPET, "!dm:example.org"]]);
      assert.deepEqual(w.remote.identities, [ALICE]);
      assert.deepEqual(w.remote.lookups, [ANNA]);
      assert.deepEqual(w.matrix.called("ensurePuppet").at(-1)?.args, ["+4915112345678", { name: "Anna", avatar: undefined }]);
      assert.deepEqual(await w.store.portals.byRoom("!dm:example.org"), { matrixUser: ALICE, remoteUri: ANNA, roomId: "!dm:example.org", encrypted: false });
      assert.deepEqual(w.matrix.called("leaveRoom"), []);
    });

    it("sends what the user wrote before the puppet joined, in order, once, and names what it could not read", async () => {
      const room = "!early:example.org";
      const msg = (id: string, body: string, sender = ALICE): MatrixEvent => ({ type: "m.room.message", room_id: room, sender, event_id: id, content: { msgtype: "m.text", body } });
      w.matrix.history.set(room, [
        { type: "m.room.create", room_id: room, sender: ALICE, event_id: "$create", state_key: "", content: {} },
        msg("$e1", "first"),
        msg("$other", "not the portal's user", "@bob:example.org"),
        { type: "m.room.encrypted", room_id: room, sender: ALICE, event_id: "$enc", content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "x" } },
        msg("$e2", "second"),
      ]);
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", room));
      assert.deepEqual(w.matrix.called("eventsBeforeJoin").map((c) => c.args), [[ANNA_PUPPET, room]]);
      assert.deepEqual((await sentEvents(w.store)).map((e) => (e.kind === "message" ? e.text : e.kind)), ["first", "second"]);
      const [notice] = w.matrix.notices();
      assert.equal(notice?.asUser, ANNA_PUPPET);
      assert.match(notice!.body, /A message you sent before ~4915112345678 joined this chat could not be read/);
      // The homeserver may still push the same events later: they are not sent twice.
      await w.core.handleMatrixEvent(msg("$e1", "first"));
      assert.equal((await sentEvents(w.store)).length, 2);
    });

    it("reads the encrypted flag from invite_room_state", async () => {
      const state = [
        { type: "m.room.create", state_key: "", content: {} },
        { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
      ];
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", "!enc:example.org", { invite_room_state: state }));
      assert.equal((await w.store.portals.byRoom("!enc:example.org"))?.encrypted, true);
      // The puppet joins saying the room is encrypted, so its crypto device exists before it is in the room.
      assert.deepEqual(w.matrix.encryptedJoins, ["!enc:example.org"]);
    });

    it("joins an unencrypted room without asking for a crypto device", async () => {
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", "!dm:example.org"));
      assert.deepEqual(w.matrix.called("joinRoom").map((c) => c.args), [[ANNA_PUPPET, "!dm:example.org"]]);
      assert.deepEqual(w.matrix.encryptedJoins, []);
    });

    it("does not take a non-empty state key's m.room.encryption for the room's", async () => {
      const state = [{ type: "m.room.encryption", state_key: "x", content: {} }];
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", "!plain:example.org", { invite_room_state: state }));
      assert.equal((await w.store.portals.byRoom("!plain:example.org"))?.encrypted, false);
    });

    it("whose contact cannot be reached: a notice saying why, and the puppet leaves; no portal", async () => {
      w.remote.failing.set(ANNA, new RemoteError("not_opted_in", "not opted in"));
      const ev = member(ALICE, ANNA_PUPPET, "invite", "!dm:example.org");
      await w.core.handleMatrixEvent(ev);
      const [notice] = w.matrix.events();
      assert.deepEqual(notice, { asUser: ANNA_PUPPET, roomId: "!dm:example.org", type: "m.room.message", content: { msgtype: "m.notice", body: "⚠ ~4915112345678 has not opted in on FakeNet." }, txnId: `lookup-${ev.event_id}` });
      assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args), [[ANNA_PUPPET, "!dm:example.org", "cannot chat with this contact"]]);
      assert.equal(await w.store.portals.byRoom("!dm:example.org"), undefined);
    });

    it("whose user has no network identity: the notice names no internals", async () => {
      w.remote.identityFailure = new Error("ENOENT /var/lib/keys");
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", "!dm:example.org"));
      const [notice] = w.matrix.notices();
      assert.match(notice?.body ?? "", /^⚠ Something went wrong in the bridge \(reference [0-9a-f]{8};/);
      assert.doesNotMatch(notice!.body, /ENOENT|var/);
      assert.equal(w.matrix.called("leaveRoom").length, 1);
    });

    it("when the chat had another room, the puppet leaves the old one and the new room is the portal", async () => {
      const old = await w.core.startChat(ALICE, ANNA);
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", "!new:example.org"));
      assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args), [[ANNA_PUPPET, old, "the chat moved to a new room"]]);
      assert.equal((await w.store.portals.get(ALICE, ANNA))?.roomId, "!new:example.org");
      assert.equal(await w.store.portals.byRoom(old), undefined);
      await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
      assert.equal(w.matrix.messages().at(-1)?.roomId, "!new:example.org");
    });

    it("re-inviting the puppet to its own portal keeps it", async () => {
      const room = await w.core.startChat(ALICE, ANNA);
      await w.core.handleMatrixEvent(member(ALICE, ANNA_PUPPET, "invite", room));
      assert.deepEqual(w.matrix.called("leaveRoom"), []);
      assert.equal((await w.store.portals.get(ALICE, ANNA))?.roomId, room);
    });
  });

  it("ignores the bridge's own membership events (echoes)", async () => {
    await w.core.handleMatrixEvent(member(ANNA_PUPPET, ANNA_PUPPET, "leave", "!x:example.org"));
    await w.core.handleMatrixEvent(member(BOT, BOT, "leave", "!x:example.org"));
    assert.deepEqual(w.matrix.calls, []);
  });
});
