// A Matrix user whose permission is removed: their portals stop bridging, and both sides are told. Messages from
// WhatsApp are refused back to the gatekeeper (whose sender learns it was not delivered), not dropped silently.
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { BridgeProcess } from "./bridge-process.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";
const conversation = (m: { content: unknown }) => (m.content as { message?: { conversation?: string } }).message?.conversation;

describe("bridge end to end: a user whose permission was removed", function () {
  this.timeout(120_000);
  let w: World;
  let revoked: BridgeProcess | undefined;
  let room: string;
  let mgmt: string;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const localpart = `revoked${Date.now() % 1_000_000}`;
    w = await startWorld("revoked", [{ phone: ANNA, name: "Anna" }], { bridge: { permissions: { [`@${localpart}:localhost`]: "user" } } }, localpart);
    mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "while allowed" });
    await w.user.waitForEvent("Anna's message", (e) => e.roomId === room && e.content.body === "while allowed");

    // The admin removes the user from the permissions and restarts the bridge.
    await w.bridge.stop();
    revoked = new BridgeProcess({ ...w.config, bridge: { ...w.config.bridge, permissions: { "@someone-else:localhost": "user" } } }, dirname(w.bridge.configPath));
    await revoked.start();
  });
  after(async () => {
    await revoked?.stop();
    await w?.stop();
  });

  it("refuses the contact's messages back to the gatekeeper, and posts nothing", async () => {
    const id = await w.gk.sendAs(ANNA, { to: w.userUri, text: "after the permission was removed" });
    const deadline = Date.now() + 20_000;
    let refusals = await w.gk.refusals(ANNA);
    while (refusals.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      refusals = await w.gk.refusals(ANNA);
    }
    assert.equal(refusals.length, 1);
    assert.equal(refusals[0]!.code, "UNKNOWN_USER");
    assert.equal(refusals[0]!.messageId.toUpperCase(), id.toUpperCase());
    assert.equal(w.user.events.some((e) => e.content.body === "after the permission was removed"), false);
  });

  it("tells the user a portal message was not delivered, and sends nothing", async () => {
    await w.user.sendText(room, "may I still write?");
    const notice = await w.user.waitForEvent("the refusal in the portal", (e) => e.roomId === room && e.sender === w.puppet(ANNA) && e.content.msgtype === "m.notice");
    assert.match(String(notice.content.body), /not allowed/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await w.gk.received(ANNA)).some((m) => conversation(m) === "may I still write?"), false);
  });

  it("answers a command with a polite refusal", async () => {
    await w.user.sendText(mgmt, "list");
    const refusal = await w.user.waitForEvent("the refusal of the command", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("not allowed"));
    assert.equal(refusal.content.msgtype, "m.notice");
  });
});
