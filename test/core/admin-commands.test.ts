// Admin commands (status, version, portals, delete-portal, sync-profile, reset-crypto) and the user's logout, with
// confirmation for what cannot be undone; the runtime's part is a recording fake of OperationsPort.
import assert from "node:assert/strict";
import type { OperationsPort, OperationsStatus } from "../../src/core/ports.js";
import { helpText } from "../../src/core/commands/index.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, inboxEntry, type CoreWorld } from "./fakes.js";

const ROOT = "@root:example.org";
const MGMT = "!mgmt:example.org";
const ROOT_MGMT = "!rootmgmt:example.org";

class RecordingOps implements OperationsPort {
  readonly version = "9.8.7";
  readonly resets: string[] = [];
  readonly forgotten: string[] = [];
  async status(): Promise<OperationsStatus> {
    return { queues: [{ name: "outbox", depth: 2, oldestAgeSeconds: 61.4 }, { name: "inbox", depth: 0, oldestAgeSeconds: 0 }], cryptoMachines: 3, portals: 5, puppets: 4 };
  }
  async resetCrypto(userId: string): Promise<string> {
    this.resets.push(userId);
    return "NEWDEVICE";
  }
  async forgetUser(userId: string): Promise<void> {
    this.forgotten.push(userId);
  }
}

describe("core: admin commands and logout", () => {
  let w: CoreWorld;
  let ops: RecordingOps;
  beforeEach(async () => {
    ops = new RecordingOps();
    w = await coreWorld({ permissions: { "example.org": "user", [ROOT]: "admin" }, directory: { [ANNA]: "Anna" }, ops, bridge: { message_requests: "off", personal_space: false } });
    for (const [user, room] of [[ALICE, MGMT], [ROOT, ROOT_MGMT]] as const) {
      await w.store.users.ensure(user, `local:${user}`);
      await w.store.users.setManagementRoom(user, room);
    }
  });
  afterEach(async () => w.close());

  let n = 0;
  /** `who` writes `body` in their management room; returns the bot's answers there. */
  async function say(who: string, body: string): Promise<string[]> {
    const room = who === ROOT ? ROOT_MGMT : MGMT;
    const before = w.matrix.events().length;
    await w.core.handleMatrixEvent({ type: "m.room.message", room_id: room, sender: who, event_id: `$a${++n}`, content: { msgtype: "m.text", body } });
    return w.matrix.events().slice(before).filter((e) => e.roomId === room && e.asUser === BOT).map((e) => String(e.content.body));
  }
  const code = (text: string) => /confirm (\d{4})/.exec(text)![1]!;

  it("shows admin commands in help to admins only, and refuses them to users", async () => {
    const forRoot = helpText(w.ctx, ROOT);
    const forAlice = helpText(w.ctx, ALICE);
    for (const name of ["status", "version", "portals", "delete-portal", "sync-profile", "reset-crypto"]) {
      assert.match(forRoot, new RegExp(`• ${name}\\b`));
      assert.doesNotMatch(forAlice, new RegExp(`• ${name}\\b`));
    }
    assert.match(forAlice, /• logout — remove your FakeNet identity/);
    assert.deepEqual(await say(ALICE, "status"), ["Sorry, only bridge admins may use this command."]);
    assert.deepEqual(await say(ALICE, "reset-crypto @wa_1:example.org"), ["Sorry, only bridge admins may use this command."]);
  });

  it("status and version report the runtime's state", async () => {
    const [status] = await say(ROOT, "status");
    assert.match(status!, /^Bridge status:\n• FakeNet: connected since /);
    assert.match(status!, /• queue outbox: 2 waiting, oldest 61 s/);
    assert.match(status!, /• queue inbox: 0 waiting\n/);
    assert.match(status!, /• crypto machines open: 3\n• portals: 5, puppets: 4\n• version 9\.8\.7$/);
    assert.deepEqual(await say(ROOT, "version"), ["FakeNet bridge (matrix-dma-bridge) version 9.8.7."]);
  });

  it("portals lists a user's portals; delete-portal closes one", async () => {
    await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
    const room = (await w.store.portals.get(ALICE, ANNA))!.roomId!;
    const [list] = await say(ROOT, `portals ${ALICE}`);
    assert.match(list!, new RegExp(`^Portals of ${ALICE}:\\n• .* — ${room.replace(/[.$]/g, "\\$&")} \\(encrypted\\)$`));
    assert.deepEqual(await say(ROOT, "portals alice"), ['"alice" is not a Matrix user ID (@name:server).']);
    assert.deepEqual(await say(ROOT, "delete-portal !nope:example.org"), ["!nope:example.org is not a portal of this bridge."]);

    const [deleted] = await say(ROOT, `delete-portal ${room}`);
    assert.match(deleted!, new RegExp(`^Deleted the portal of ${ALICE} with `));
    assert.equal((await w.store.portals.get(ALICE, ANNA))?.roomId, null);
    assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args.slice(0, 2)), [[ANNA_PUPPET, room]]);
    assert.ok(w.matrix.notices().some((x) => x.roomId === room && x.asUser === ANNA_PUPPET && /closed by the bridge admin/.test(x.body)));
    assert.deepEqual(await say(ROOT, `portals ${ALICE}`), [`${ALICE} has no portals.`]);
  });

  it("sync-profile looks the contact up again and sets the bridge info in their portals", async () => {
    await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
    const room = (await w.store.portals.get(ALICE, ANNA))!.roomId!;
    const lookups = w.remote.lookups.length;
    const [answer] = await say(ROOT, `sync-profile ${ANNA.slice("fake:".length)}`);
    assert.match(answer!, /^Profile of .* synced: .*, bridge info updated in 1 portal\.$/);
    assert.equal(w.remote.lookups.length, lookups + 1);
    assert.deepEqual(w.matrix.called("setState").map((c) => [c.args[1], (c.args[2] as { type: string }).type]), [[room, "m.bridge"], [room, "uk.half-shot.bridge"]]);
  });

  it("reset-crypto asks for confirmation, and only the right code from the same admin does it", async () => {
    assert.deepEqual(await say(ROOT, "reset-crypto @stranger:example.org"), ["@stranger:example.org is neither the bridge bot nor one of its puppets."]);
    const [question] = await say(ROOT, `reset-crypto ${BOT}`);
    assert.match(question!, /^⚠ This will replace the Matrix encryption device of @whatsappbot:example\.org\. It cannot be undone\. To go on, send "confirm \d{4}" within 5 minutes\.$/);
    assert.deepEqual(await say(ROOT, "confirm 0000"), ['That is not the code for "replace the Matrix encryption device of @whatsappbot:example.org". Send "confirm" with the code from the question.']);
    assert.deepEqual(await say(ALICE, `confirm ${code(question!)}`), ["There is nothing to confirm (or it was asked more than 5 minutes ago); send the command again."]);
    assert.deepEqual(ops.resets, []);
    const [done] = await say(ROOT, `confirm ${code(question!)}`);
    assert.match(done!, /^@whatsappbot:example\.org has a new Matrix device \(NEWDEVICE\)/);
    assert.deepEqual(ops.resets, [BOT]);
    assert.deepEqual(await say(ROOT, `confirm ${code(question!)}`), ["There is nothing to confirm (or it was asked more than 5 minutes ago); send the command again."], "a code works once");
  });

  it("logout closes the user's portals and forgets their network side after confirmation", async () => {
    await w.core.handleRemoteEntry(inboxEntry({ kind: "message", text: "hi" }));
    const room = (await w.store.portals.get(ALICE, ANNA))!.roomId!;
    const [question] = await say(ALICE, "logout");
    assert.match(question!, /^⚠ This will remove your FakeNet identity, its keys and all your bridged chats\./);
    assert.deepEqual(ops.forgotten, []);
    assert.deepEqual(w.matrix.called("leaveRoom"), []);
    const [done] = await say(ALICE, `confirm ${code(question!)}`);
    assert.match(done!, /^Done: your FakeNet identity, keys and 1 chat were removed\./);
    assert.deepEqual(ops.forgotten, [ALICE]);
    assert.deepEqual(w.matrix.called("leaveRoom").map((c) => c.args.slice(0, 2)), [[ANNA_PUPPET, room]]);
    assert.ok(w.matrix.notices().some((x) => x.roomId === room && /logged out/.test(x.body)));
  });
});
