// Admin commands and logout against the real bridge process: status and version answer from the runtime, reset-crypto
// gives the bot a new device on the homeserver, and logout forgets the user's interop identity so that the next chat
// comes from a new one (the contact sees a new security code).
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4916012345678";

describe("admin commands and logout (bridge process)", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const localpart = `admin${Date.now() % 1_000_000}`;
    w = await startWorld("admin", [{ phone: ANNA, name: "Anna" }], { bridge: { permissions: { [`@${localpart}:localhost`]: "admin" } } }, localpart, true);
    mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  let asked = 0;
  async function ask(body: string, expect: RegExp, timeoutMs = 30_000): Promise<string> {
    const seen = w.user.events.length;
    await w.user.sendText(mgmt, body);
    asked++;
    const reply = await w.user.waitFor(`the answer to "${body}"`, () => w.user.events.slice(seen).find((e) => e.roomId === mgmt && e.sender === w.bot && expect.test(String(e.content.body))), timeoutMs);
    return String(reply.content.body);
  }

  it("answers status and version from the runtime, and help lists the admin commands", async () => {
    const help = await ask("help", /Commands:/);
    for (const name of ["status", "version", "portals", "delete-portal", "sync-profile", "reset-crypto", "logout"]) assert.match(help, new RegExp(`• ${name}\\b`));
    assert.match(await ask("version", /version/), /^WhatsApp bridge \(matrix-dma-bridge\) version \d+\.\d+\.\d+\.$/);
    const status = await ask("status", /^Bridge status/);
    assert.match(status, /• WhatsApp: connected since /);
    assert.match(status, /• queue matrix_inbound: \d+ waiting/);
    assert.match(status, /• crypto machines open: \d+/);
  });

  it("reset-crypto gives the bot a new device after confirmation", async () => {
    const before = await w.user.deviceIds(w.bot);
    assert.equal(before.length, 1);
    const question = await ask(`reset-crypto ${w.bot}`, /confirm \d{4}/);
    const code = /confirm (\d{4})/.exec(question)![1];
    assert.match(await ask(`confirm ${code}`, /has a new Matrix device/, 60_000), new RegExp(`^${w.bot.replace(/[.]/g, "\\.")} has a new Matrix device \\((\\w+)\\)`));
    const after = await w.user.waitFor("the new bot device", async () => {
      const ids = await w.user.deviceIds(w.bot);
      return ids.length === 1 && ids[0] !== before[0] ? ids : undefined;
    });
    assert.notEqual(after[0], before[0]);
    // The bot still answers.
    await ask("ping", /connected/);
  });

  it("logout closes the user's chats and the next chat comes from a new identity", async () => {
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    await w.user.sendText(room, "before logout");
    const first = await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("before logout"), 20_000);
    assert.notEqual((first.content as { identityChanged?: boolean }).identityChanged, true);

    const question = await ask("logout", /confirm \d{4}/);
    const code = /confirm (\d{4})/.exec(question)![1];
    assert.match(await ask(`confirm ${code}`, /^Done: your WhatsApp identity/), /and 1 chat were removed/);
    await w.user.waitFor("the puppet to leave", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "leave" ? true : undefined));
    assert.match(await ask("list", /chats/), /You have no bridged chats yet/);

    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const again = await w.user.acceptInviteFrom(w.puppet(ANNA));
    assert.notEqual(again, room);
    await w.user.sendText(again, "after logout");
    const second = await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("after logout"), 20_000);
    assert.equal((second.content as { identityChanged?: boolean }).identityChanged, true, "Anna's phone sees a new identity");
    assert.ok(asked > 0);
  });
});
