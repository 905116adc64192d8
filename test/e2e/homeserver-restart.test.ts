// Synapse drops the events it had accepted but not yet sent to the appservice when it restarts
// (element-hq/synapse#11637): new events wait in its memory while a transaction is in flight. Here the transaction
// hangs because the bridge is frozen, the user writes on, and Synapse is restarted. The bridge must find the dropped
// messages in the room's history and deliver them, in order, before what was written after the restart.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";

describe("a homeserver restart that drops events it had not sent yet (real Synapse)", function () {
  this.timeout(180_000);
  let w: World;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("hsrestart", [{ phone: ANNA, name: "Anna" }]);
    if (w.env.synapse.external) this.skip(); // an external Synapse is not ours to restart
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  it("reads the dropped messages from the room and delivers them in order", async () => {
    const { user: alice, gk, bot, bridge, env } = w;
    const text = (m: { content: unknown }) => (m.content as { message?: { conversation?: string } }).message?.conversation;
    const mgmt = await alice.createDm(bot);
    await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"));
    await alice.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await alice.acceptInviteFrom(w.puppet(ANNA));
    await alice.sendText(room, "before");
    await gk.waitForMessage(ANNA, (m) => text(m) === "before", 20_000);

    bridge.freeze();
    try {
      // The first goes out in a transaction that hangs; the next ones wait in Synapse's memory behind it.
      await alice.sendText(room, "held 0");
      await new Promise((r) => setTimeout(r, 500));
      await alice.sendText(room, "held 1");
      await alice.sendText(room, "held 2");
      await new Promise((r) => setTimeout(r, 500));
      await env.synapse.restart();
    } finally {
      bridge.thaw();
    }
    await alice.sendText(room, "after");

    const expected = ["before", "held 0", "held 1", "held 2", "after"];
    const got = async () => (await gk.received(ANNA)).map(text).filter((t): t is string => t !== undefined && expected.includes(t));
    for (const end = Date.now() + 90_000; (await got()).length < expected.length && Date.now() < end; ) await new Promise((r) => setTimeout(r, 250));
    await new Promise((r) => setTimeout(r, 1000)); // a duplicate would come right behind
    assert.deepEqual(await got(), expected, "every message once, in the order written");
    assert.match(bridge.logs, /the homeserver never sent these events/, "the catch-up found them, not a resend");
  });
});
