// Permission first: nothing is registered, joined, looked up or sent for a Matrix user the bridge does not let in.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import { messageIdForEvent } from "../../src/core/bridge.js";
import { coreWorld, type CoreWorld } from "./fakes.js";

const BOT = "@whatsappbot:example.org";
const ALICE = "@alice:example.org";
const MALLORY = "@mallory:evil.org";
const ANNA = "+4915112345678";
const ANNA_PUPPET = "@wa_4915112345678:example.org";
const ANNA_URI = `fake:${ANNA.slice(1)}`;

let seq = 0;
function event(partial: Partial<MatrixEvent> & Pick<MatrixEvent, "type" | "room_id" | "sender">): MatrixEvent {
  return { event_id: `$e${++seq}`, content: {}, ...partial };
}
function invite(sender: string, target: string, roomId = `!dm${++seq}:example.org`): MatrixEvent {
  return event({ type: "m.room.member", room_id: roomId, sender, state_key: target, content: { membership: "invite", is_direct: true } });
}
function text(sender: string, roomId: string, body: string): MatrixEvent {
  return event({ type: "m.room.message", room_id: roomId, sender, content: { msgtype: "m.text", body } });
}

describe("core: permissions are checked first", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld();
  });
  afterEach(async () => w.close());

  it("declines a puppet invite from a user who may not use the bridge, before registering or joining anything", async () => {
    const ev = invite(MALLORY, ANNA_PUPPET);
    await w.core.handleMatrixEvent(ev);
    assert.deepEqual(w.matrix.called("ensurePuppet"), []);
    assert.deepEqual(w.matrix.called("joinRoom"), []);
    assert.deepEqual(w.remote.lookups, []);
    assert.deepEqual(w.remote.identities, []);
    const [leave] = w.matrix.called("leaveRoom");
    assert.deepEqual(leave?.args.slice(0, 2), [ANNA_PUPPET, ev.room_id]);
    assert.match(String(leave?.args[2]), /not allowed/);
    assert.equal(await w.store.portals.byRoom(ev.room_id), undefined);
  });

  it("declines a bot invite from a user who may not use the bridge without joining", async () => {
    const ev = invite(MALLORY, BOT);
    await w.core.handleMatrixEvent(ev);
    assert.deepEqual(w.matrix.called("joinRoom"), []);
    assert.equal(w.matrix.called("leaveRoom")[0]?.args[0], BOT);
    assert.equal(await w.store.users.get(MALLORY), undefined);
  });

  it("ignores an invite to a puppet ID that is no valid phone number", async () => {
    await w.core.handleMatrixEvent(invite(ALICE, "@wa_12:example.org"));
    assert.deepEqual(w.matrix.calls, []);
    assert.deepEqual(w.remote.lookups, []);
  });

  it("adopts a puppet invite from an allowed user", async () => {
    const ev = invite(ALICE, ANNA_PUPPET);
    await w.core.handleMatrixEvent(ev);
    assert.deepEqual(w.matrix.called("joinRoom")[0]?.args, [ANNA_PUPPET, ev.room_id]);
    assert.equal((await w.store.portals.byRoom(ev.room_id))?.matrixUser, ALICE);
  });

  describe("a user whose permission was removed", () => {
    const mgmt = "!mgmt:example.org";
    const portalRoom = "!portal:example.org";
    beforeEach(async () => {
      // State from before the permission was removed: a management room and a portal.
      await w.store.users.ensure(MALLORY, "matrix:u/mallory:evil.org");
      await w.store.users.setManagementRoom(MALLORY, mgmt);
      await w.store.portals.upsert({ matrixUser: MALLORY, remoteUri: ANNA_URI, roomId: portalRoom, encrypted: false });
    });

    it("gets a polite refusal for a command, and the command does not run", async () => {
      await w.core.handleMatrixEvent(text(MALLORY, mgmt, "start-chat +49 151 12345678"));
      assert.deepEqual(w.remote.lookups, []);
      assert.deepEqual(w.matrix.called("createPortalRoom"), []);
      const notices = w.matrix.notices();
      assert.equal(notices.length, 1);
      assert.equal(notices[0]!.asUser, BOT);
      assert.match(notices[0]!.body, /not allowed/);
    });

    it("is told a message in an old portal was not delivered, and nothing is queued", async () => {
      const ev = text(MALLORY, portalRoom, "hello");
      await w.core.handleMatrixEvent(ev);
      assert.equal(await w.store.outbox.hasMessage(MALLORY, ANNA_URI, messageIdForEvent(portalRoom, ev.event_id)), false);
      assert.equal(await w.store.outbox.pending(), 0);
      assert.equal(w.remote.wakes, 0);
      const [notice] = w.matrix.notices();
      assert.equal(notice?.asUser, ANNA_PUPPET);
      assert.match(notice!.body, /Not delivered: .*not allowed/);
    });

    it("has no remote traffic accepted for them", async () => {
      assert.equal(w.core.acceptsRemoteFor(MALLORY), false);
      assert.equal(w.core.acceptsRemoteFor(ALICE), true);
    });

    it("gets no queued remote message posted", async () => {
      await w.core.handleRemoteEntry({
        seq: 1,
        matrixUser: MALLORY,
        remoteUri: ANNA_URI,
        senderDevice: 1,
        messageId: "00112233445566778899AABBCCDDEEFF",
        timestamp: Date.now(),
        content: new Uint8Array(),
        identityChanged: false,
        attempts: 0,
      } as never);
      assert.deepEqual(w.matrix.calls, []);
    });
  });
});

describe("core: user-facing notices name no internals", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld();
  });
  afterEach(async () => w.close());

  it("gives a reference instead of the internal error message when an event is given up on", async () => {
    const room = "!p:example.org";
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA_URI, roomId: room, encrypted: false });
    await w.core.onMatrixEventAbandoned(text(ALICE, room, "hi"), new Error("SQLITE_BUSY: database is locked at /var/lib/bridge.db"));
    const [notice] = w.matrix.notices();
    assert.ok(notice);
    assert.doesNotMatch(notice.body, /SQLITE|\/var\/lib/);
    assert.match(notice.body, /reference [0-9a-f]{8}/);
  });
});

describe("core: redacting the contact's reaction", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld();
  });
  afterEach(async () => w.close());

  it("sends nothing to the contact (it is not the user's reaction to take back)", async () => {
    const room = "!p:example.org";
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA_URI, roomId: room, encrypted: false });
    await w.store.reactions.put({ matrixUser: ALICE, remoteUri: ANNA_URI, targetMessageId: "AA", reactor: ANNA_URI, emoji: "👍", roomId: room, eventId: "$theirs" });
    await w.core.handleMatrixEvent(event({ type: "m.room.redaction", room_id: room, sender: ALICE, redacts: "$theirs" }));
    assert.equal(await w.store.outbox.pending(), 0);
    assert.equal(w.remote.wakes, 0);
    assert.equal(await w.store.reactions.byEvent(room, "$theirs"), undefined);
  });
});
