// Bridge info (m.bridge, uk.half-shot.bridge) in portals: in the initial state of every new portal, and refreshed in
// all of a contact's portals when the contact's name or picture changes.
import assert from "node:assert/strict";
import { BRIDGE_INFO_TYPES, protocolId } from "../../src/core/bridge-info.js";
import type { RemoteAvatar, StateEvent } from "../../src/core/ports.js";
import { startChat } from "../../src/core/portals.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, inboxEntry, type CoreWorld } from "./fakes.js";

const BOB = "@bob:example.org";

describe("core: bridge info in portals", () => {
  let w: CoreWorld;
  const directory: Record<string, string> = {};
  beforeEach(async () => {
    directory[ANNA] = "Anna";
    // Without the user's space, whose m.space.child events would be counted with the bridge info.
    w = await coreWorld({ directory, bridge: { personal_space: false } });
    // The puppet's profile as the Matrix side keeps it (the recording fake keeps none).
    w.matrix.ensurePuppet = async (key: string, profile: { name?: string | undefined; avatar?: RemoteAvatar | undefined }) => {
      const known = await w.store.puppets.get(key);
      await w.store.puppets.upsert({ e164: key, userId: ANNA_PUPPET, displayName: profile.name ?? known?.displayName ?? null, avatarMxc: profile.avatar ? `mxc://example.org/${profile.avatar.id}` : (known?.avatarMxc ?? null), registered: true });
      return ANNA_PUPPET;
    };
  });
  afterEach(async () => w.close());

  it("is part of a new portal's initial state, under both event types, naming the bot, the network and the contact", async () => {
    await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
    const [create] = w.matrix.called("createPortalRoom");
    const state = (create!.args[0] as { initialState: StateEvent[] }).initialState;
    assert.deepEqual(state.map((s) => s.type), [...BRIDGE_INFO_TYPES]);
    const key = w.remote.ids.puppetKey(ANNA);
    for (const s of state) {
      assert.equal(s.stateKey, `dma-bridge://fakenet/${key}`);
      assert.deepEqual(s.content, {
        bridgebot: BOT,
        creator: ANNA_PUPPET,
        protocol: { id: "fakenet", displayname: "FakeNet" },
        network: { id: "127.0.0.1:29400", displayname: "FakeNet (DMA interoperability)" },
        channel: { id: key, displayname: "Anna" },
      });
    }
    assert.equal(w.matrix.called("setState").length, 0, "nothing to set afterwards");
  });

  it("is refreshed in every portal with the contact when the contact's profile changes, and only then", async () => {
    await startChat(w.ctx, ALICE, ANNA);
    await startChat(w.ctx, BOB, ANNA);
    const rooms = [(await w.store.portals.get(ALICE, ANNA))!.roomId!, (await w.store.portals.get(BOB, ANNA))!.roomId!];
    assert.notEqual(rooms[0], rooms[1]);
    w.matrix.members.get(rooms[0]!)!.add(ALICE);
    await startChat(w.ctx, ALICE, ANNA);
    assert.equal(w.matrix.called("setState").length, 0, "the same profile again changes nothing");

    directory[ANNA] = "Anna Berg";
    await startChat(w.ctx, ALICE, ANNA);
    const sets = w.matrix.called("setState").map((c) => ({ asUser: c.args[0], room: c.args[1], state: c.args[2] as StateEvent }));
    assert.deepEqual(sets.map((s) => [s.asUser, s.room, s.state.type]).sort(), rooms.flatMap((r) => BRIDGE_INFO_TYPES.map((t) => [ANNA_PUPPET, r, t])).sort());
    for (const s of sets) assert.equal((s.state.content.channel as { displayname: string }).displayname, "Anna Berg");
  });

  it("derives the protocol ID from the network's name", () => {
    assert.equal(protocolId("WhatsApp"), "whatsapp");
    assert.equal(protocolId("Fake Net 2"), "fakenet2");
    assert.equal(protocolId("!!!"), "remote");
  });
});
