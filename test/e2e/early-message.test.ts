// A message typed before the puppet joined: the homeserver never pushes it to the bridge (it pushes a room's events
// only once one of the bridge's users has joined), so the bridge reads it from the room when it adopts the portal.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ERIK = "+4915166666666";
const conversation = (m: { content: unknown }) => (m.content as { message?: { conversation?: string } }).message?.conversation;

describe("bridge end to end: messages written before the puppet joined", function () {
  this.timeout(120_000);
  let w: World;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("early", [{ phone: ERIK, name: "Erik" }]);
  });
  after(async () => {
    await w?.stop();
  });

  it("delivers them, in order and once, when the user then invites the puppet", async () => {
    // A DM made the way some clients do it: the room first, a message, and the invite after.
    const { room_id: room } = await w.user.client.createRoom({ is_direct: true, preset: "trusted_private_chat" as never });
    await w.user.sendText(room, "written before the invite 1");
    await w.user.sendText(room, "written before the invite 2");
    await w.user.client.invite(room, w.puppet(ERIK));
    await w.user.waitFor("the puppet to join", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ERIK))?.membership === "join" ? true : undefined));
    await w.user.sendText(room, "written after the join");
    await w.gk.waitForMessage(ERIK, (m) => conversation(m) === "written after the join", 30_000);
    await new Promise((r) => setTimeout(r, 500));
    const got = (await w.gk.received(ERIK)).map(conversation).filter((t) => t?.startsWith("written "));
    assert.deepEqual(got, ["written before the invite 1", "written before the invite 2", "written after the join"]);
  });
});
