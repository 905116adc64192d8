// Admin commands and logout against the real bridge process: status and version answer from the runtime, reset-crypto
// gives the bot a new device on the homeserver, and logout forgets the user's interop identity so that the next chat
// comes from a new one (the contact sees a new security code).
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4916012345678";
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("admin commands and logout (bridge process)", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const localpart = `admin${Date.now() % 1_000_000}`;
    // Encrypted portals, as on the product defaults: a puppet's reset device must still be readable.
    w = await startWorld("admin", [{ phone: ANNA, name: "Anna" }], { bridge: { permissions: { [`@${localpart}:localhost`]: "admin" }, encryption: { default: true, allow: true } } }, localpart, true);
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
    // The harness Synapse is shared: suites before this one in the same process gave the bot devices of their own.
    const before = await w.user.deviceIds(w.bot);
    assert.ok(before.length >= 1);
    const question = await ask(`reset-crypto ${w.bot}`, /confirm \d{4}/);
    const code = /confirm (\d{4})/.exec(question)![1];
    assert.match(await ask(`confirm ${code}`, /has a new Matrix device/, 60_000), new RegExp(`^${w.bot.replace(/[.]/g, "\\.")} has a new Matrix device \\((\\w+)\\)`));
    const after = await w.user.waitFor("the new bot device", async () => {
      const ids = await w.user.deviceIds(w.bot);
      // The old device is deleted and a new one made: as many as before, one of them new.
      return ids.length === before.length && ids.some((id) => !before.includes(id)) ? ids : undefined;
    });
    assert.equal(after.filter((id) => !before.includes(id)).length, 1);
    // The bot still answers.
    await ask("ping", /connected/);
  });

  it("lists a user's portals, syncs a profile, gives a puppet a new device that still reads and writes, and deletes the portal", async () => {
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    const puppet = w.puppet(ANNA);
    assert.match(await ask(`portals ${w.user.userId}`, /^Portals of/), new RegExp(`^Portals of ${escaped(w.user.userId)}:\n• \\+49[\\d ]+ — ${escaped(room)} \\(encrypted\\)$`));
    assert.match(await ask(`sync-profile ${ANNA}`, /^Profile of/), /^Profile of \+49[\d ]+ synced: "Anna \(WhatsApp\)", bridge info updated in 1 portal\.$/);

    await w.gk.sendAs(ANNA, { to: w.userUri, text: "before the reset" });
    await w.user.waitForEvent("a message from the old device", (e) => e.roomId === room && e.content.body === "before the reset");
    const before = await w.user.deviceIds(puppet);
    assert.equal(before.length, 1);
    const question = await ask(`reset-crypto ${puppet}`, /confirm \d{4}/);
    const code = /confirm (\d{4})/.exec(question)![1];
    await ask(`confirm ${code}`, /has a new Matrix device/, 60_000);
    await w.user.waitFor("the puppet's new device", async () => {
      const ids = await w.user.deviceIds(puppet);
      return ids.length === 1 && ids[0] !== before[0] ? ids : undefined;
    });
    // The new device's messages decrypt on the user's side, and the user's messages still reach the contact.
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "after the reset" });
    const after = await w.user.waitForEvent("a message from the new device", (e) => e.roomId === room && e.content.body === "after the reset", 30_000);
    assert.equal(after.encrypted, true);
    await w.user.sendText(room, "still reading you");
    await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("still reading you"), 20_000);

    assert.match(await ask(`delete-portal ${room}`, /^Deleted the portal/), new RegExp(`^Deleted the portal of ${escaped(w.user.userId)} with \\+49[\\d ]+ \\(${escaped(room)}\\)`));
    await w.user.waitFor("the puppet to leave", () => (w.user.client.getRoom(room)?.getMember(puppet)?.membership === "leave" ? true : undefined));
    assert.equal(await ask(`portals ${w.user.userId}`, /portals/), `${w.user.userId} has no portals.`);
  });

  // The client must have seen the room's encryption state before it can send there.
  const encryptedRoom = (room: string) => w.user.waitFor(`encryption in ${room}`, async () => ((await w.user.client.getCrypto()?.isEncryptionEnabledInRoom(room)) ? room : undefined));

  it("logout closes the user's chats and the next chat comes from a new identity", async () => {
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await encryptedRoom(await w.user.acceptInviteFrom(w.puppet(ANNA)));
    await w.user.sendText(room, "before logout");
    const first = await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("before logout"), 20_000);
    assert.notEqual((first.content as { identityChanged?: boolean }).identityChanged, true);

    const question = await ask("logout", /confirm \d{4}/);
    const code = /confirm (\d{4})/.exec(question)![1];
    assert.match(await ask(`confirm ${code}`, /^Done: your WhatsApp identity/), /and 1 chat were removed/);
    await w.user.waitFor("the puppet to leave", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "leave" ? true : undefined));
    assert.match(await ask("list", /chats/), /You have no bridged chats yet/);

    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const again = await encryptedRoom(await w.user.acceptInviteFrom(w.puppet(ANNA)));
    assert.notEqual(again, room);
    await w.user.sendText(again, "after logout");
    const second = await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("after logout"), 20_000);
    assert.equal((second.content as { identityChanged?: boolean }).identityChanged, true, "Anna's phone sees a new identity");
    assert.ok(asked > 0);
  });
});
