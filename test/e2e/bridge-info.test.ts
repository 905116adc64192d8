// Bridge info end to end: portals carry m.bridge and uk.half-shot.bridge (made by command, adopted from an invite),
// and a contact's new profile reaches the bridge info of their portal.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { PIXEL_PNG, startWorld, type World } from "./world.js";

const ANNA = "+4915812345678";
const BEN = "+4915833333333";

interface BridgeInfo {
  bridgebot: string;
  creator: string;
  protocol: { id: string; displayname: string };
  network: { id: string; displayname: string };
  channel: { id: string; displayname: string; avatar_url?: string };
}

describe("bridge info in portals (Synapse + gatekeeper + bridge process)", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("binfo", [{ phone: ANNA, name: "Anna", avatar: { data: PIXEL_PNG, contentType: "image/png" } }, { phone: BEN, name: "Ben" }]);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  async function bridgeInfo(roomId: string): Promise<Record<string, { stateKey: string; content: BridgeInfo }>> {
    const state = (await w.user.client.roomState(roomId)) as unknown as { type: string; state_key: string; content: BridgeInfo }[];
    const out: Record<string, { stateKey: string; content: BridgeInfo }> = {};
    for (const e of state) if (e.type === "m.bridge" || e.type === "uk.half-shot.bridge") out[e.type] = { stateKey: e.state_key, content: e.content };
    return out;
  }

  it("is in a portal made by start-chat from the start, with the contact's name and picture", async () => {
    mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    const info = await bridgeInfo(room);
    assert.deepEqual(Object.keys(info).sort(), ["m.bridge", "uk.half-shot.bridge"]);
    assert.deepEqual(info["m.bridge"], info["uk.half-shot.bridge"]);
    const { stateKey, content } = info["m.bridge"]!;
    assert.equal(stateKey, `dma-bridge-test://whatsapp/${ANNA}`);
    assert.equal(content.bridgebot, w.bot);
    assert.equal(content.creator, w.puppet(ANNA));
    assert.deepEqual(content.protocol, { id: "whatsapp", displayname: "WhatsApp" });
    assert.equal(content.network.id, new URL(w.gk.url).host);
    assert.equal(content.channel.id, ANNA);
    assert.equal(content.channel.displayname, "Anna (WhatsApp)");
    assert.match(content.channel.avatar_url ?? "", /^mxc:\/\//);
  });

  it("is set in a portal adopted from an invite of the puppet", async () => {
    const room = await w.user.createDm(w.puppet(BEN));
    const info = await w.user.waitFor("the bridge info in the adopted room", async () => {
      const i = await bridgeInfo(room);
      return i["m.bridge"] && i["uk.half-shot.bridge"] ? i : undefined;
    }, 30_000);
    assert.equal(info["m.bridge"]!.content.channel.displayname, "Ben (WhatsApp)");
    assert.equal(info["m.bridge"]!.content.channel.avatar_url, undefined, "Ben has no picture");
  });

  it("follows the contact's new name", async () => {
    const room = (await w.user.client.getRooms()).find((r) => r.getMember(w.puppet(ANNA))?.membership === "join")!.roomId;
    await w.gk.admin.setProfile(ANNA, { name: "Anna Berg" });
    // The bridge learns of a profile when it looks the contact up: here, when the user asks for the chat again.
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const info = await w.user.waitFor("the new name in the bridge info", async () => {
      const i = await bridgeInfo(room);
      return i["m.bridge"]?.content.channel.displayname === "Anna Berg (WhatsApp)" && i["uk.half-shot.bridge"]?.content.channel.displayname === "Anna Berg (WhatsApp)" ? i : undefined;
    }, 30_000);
    assert.match(info["m.bridge"]!.content.channel.avatar_url ?? "", /^mxc:\/\//, "the picture stays");
  });
});
