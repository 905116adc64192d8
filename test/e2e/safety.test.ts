// Trust and safety end to end: a Matrix user on the harness Synapse, simulated phone users on the reference
// gatekeeper, the bridge as a process. Security codes (checked against libsignal's Fingerprint for the two
// identities), identity changes made with the gatekeeper CLI's `user reset-identity` and announced once whether a
// receive or a send sees them (also across a bridge restart), new devices, holding until re-verified, block, unblock
// and report with the gatekeeper's view checked, and flood limits refusing with RATE_LIMITED.
import { withBridgeDatabase } from "../support/test-database.js";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Fingerprint, PublicKey } from "@signalapp/libsignal-client";
import { AdminApiError } from "../../src/gatekeeper/process.js";
import { GatekeeperApi } from "../../src/interop/http-api.js";
import { ProviderTokens } from "../../src/interop/tokens.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import type { SeenEvent } from "./matrix-user.js";
import { MatrixTestUser } from "./matrix-user.js";
import { startWorld, type World } from "./world.js";

const run = promisify(execFile);
const GATEKEEPER_CLI = fileURLToPath(new URL("../../src/gatekeeper/cli.js", import.meta.url));
const ANNA = "+4915112345678";
const BERT = "+4915133333333";
const FLO = "+4915166666666";
const conversation = (m: { content: unknown }) => (m.content as { message?: { conversation?: string } }).message?.conversation;

/** The gatekeeper operator's CLI against the world's gatekeeper (it finds the admin URL and token in the data dir). */
async function gatekeeperCli(w: World, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [GATEKEEPER_CLI, ...args, "--data-dir", w.gk.dataDir]);
  return stdout;
}

async function refusedWith(promise: Promise<unknown>): Promise<AdminApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminApiError, String(err));
    return err;
  }
  assert.fail("expected the gatekeeper to refuse the send");
}

/** Opens a chat by command and has the contact answer, so both sides have sessions. */
async function openChat(w: World, mgmt: string, phone: string): Promise<string> {
  await w.user.sendText(mgmt, `start-chat ${phone}`);
  const room = await w.user.acceptInviteFrom(w.puppet(phone));
  await w.user.sendText(room, "hi");
  await w.gk.waitForMessage(phone, (m) => conversation(m) === "hi", 20_000);
  await w.gk.sendAs(phone, { to: w.userUri, text: "hello back" });
  await w.user.waitForEvent("the contact's answer", (e) => e.roomId === room && e.content.body === "hello back");
  return room;
}

async function managementRoom(w: World): Promise<string> {
  const mgmt = await w.user.createDm(w.bot);
  await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
  return mgmt;
}

const noticesIn = (w: World, room: string, pattern: RegExp): SeenEvent[] =>
  w.user.events.filter((e) => e.roomId === room && e.content.msgtype === "m.notice" && pattern.test(String(e.content.body)));

describe("bridge end to end: security codes and identity changes", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let room: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("safety", [{ phone: ANNA, name: "Anna" }]);
    mgmt = await managementRoom(w);
    room = await openChat(w, mgmt, ANNA);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  async function securityCode(): Promise<string> {
    const sent = w.user.events.length;
    await w.user.sendText(room, "!wa safety-number");
    const answer = await w.user.waitForEvent("the security code", (e) => w.user.events.indexOf(e) >= sent && e.roomId === room && String(e.content.body).startsWith("🔐 Security code"));
    return String(answer.content.body);
  }

  it("shows the security code libsignal's Fingerprint gives for the two identities, and sends nothing to the contact", async () => {
    const body = await securityCode();
    const digits = body.split("\n").slice(1, 4).join("").replace(/\s/g, "");
    assert.match(digits, /^\d{60}$/);
    assert.match(body, /QR code content: [A-Za-z0-9+/]+=*$/);

    // The identity keys as the key service hands them to anyone: Anna's device 1 and the Matrix user's bridge device.
    const api = new GatekeeperApi({ baseUrl: w.gk.url, tokens: new ProviderTokens(w.config.gatekeeper.provider_id, w.config.gatekeeper.provider_key, { gatekeeperUrl: w.gk.url }) });
    const keyOf = async (uri: string) => PublicKey.deserialize(Buffer.from((await api.fetchBundles(uri, 1)).devices[0]!.identityKey, "base64"));
    const annaUri = `tel:${ANNA}`;
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const expected = Fingerprint.new(5200, 2, utf8(w.userUri), await keyOf(w.userUri), utf8(annaUri), await keyOf(annaUri)).displayableFingerprint().toString();
    assert.equal(digits, expected);
    assert.equal((await w.gk.received(ANNA)).some((m) => String(conversation(m)).includes("safety-number")), false, "the command never reached Anna");
  });

  it("announces a change first seen on receive once, before the message, also after a bridge restart", async () => {
    const before = await securityCode();
    assert.match(await gatekeeperCli(w, "user", "reset-identity", ANNA), /"deviceId": 1/);
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "new phone, same me" });
    const message = await w.user.waitForEvent("Anna's message under her new identity", (e) => e.roomId === room && e.content.body === "new phone, same me");
    const changed = noticesIn(w, room, /security code with \+49 1511 2345678 changed \(device 1/);
    assert.equal(changed.length, 1);
    assert.ok(w.user.events.indexOf(changed[0]!) < w.user.events.indexOf(message), "the notice comes before the message");
    assert.notEqual(await securityCode(), before);

    await w.bridge.stop();
    await w.bridge.start();
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "after your restart" });
    await w.user.waitForEvent("a message after the restart", (e) => e.roomId === room && e.content.body === "after your restart", 30_000);
    await w.user.sendText(room, "still there");
    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "still there", 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(noticesIn(w, room, /security code with .* changed/).length, 1, "exactly once, across the restart");
  });

  it("announces a change first seen on send once, and the message still reaches the contact", async () => {
    await gatekeeperCli(w, "user", "reset-identity", ANNA);
    await w.user.sendText(room, "did you reinstall?");
    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "did you reinstall?", 20_000);
    await w.user.waitFor("the second change notice", () => (noticesIn(w, room, /security code with .* changed/).length === 2 ? true : undefined));
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "yes" });
    await w.user.waitForEvent("Anna's answer", (e) => e.roomId === room && e.content.body === "yes");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(noticesIn(w, room, /security code with .* changed/).length, 2, "the receive after it adds none");
    await w.bridge.stop();
    await w.bridge.start();
    await w.user.sendText(room, "after a restart");
    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "after a restart", 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(noticesIn(w, room, /security code with .* changed/).length, 2, "a change seen on send is not announced again after a restart");
  });

  it("announces a new device of the contact once", async () => {
    const added = JSON.parse(await gatekeeperCli(w, "user", "add-device", ANNA)) as { deviceId: number };
    await w.user.sendText(room, "to all your devices");
    await w.gk.waitForMessage(ANNA, (m) => m.deviceId === added.deviceId && conversation(m) === "to all your devices", 20_000);
    const notice = await w.user.waitForEvent("the new-device notice", (e) => e.roomId === room && /added a new device/.test(String(e.content.body)));
    assert.match(String(notice.content.body), new RegExp(`\\(device ${added.deviceId}\\)`));
    await w.user.sendText(room, "again");
    await w.gk.waitForMessage(ANNA, (m) => m.deviceId === added.deviceId && conversation(m) === "again", 20_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(noticesIn(w, room, /added a new device/).length, 1);
  });
});

describe("bridge end to end: block_until_verified", function () {
  this.timeout(120_000);
  let w: World;
  let room: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("verified", [{ phone: ANNA, name: "Anna" }], { bridge: { identity_change: "block_until_verified" } });
    const mgmt = await managementRoom(w);
    room = await openChat(w, mgmt, ANNA);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  it("holds messages to a verified contact whose code changed until the user verifies again", async () => {
    await w.user.sendText(room, "!wa verify");
    await w.user.waitForEvent("the verification", (e) => e.roomId === room && String(e.content.body).startsWith("✅ You verified"));

    await gatekeeperCli(w, "user", "reset-identity", ANNA);
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "reinstalled" });
    await w.user.waitForEvent("Anna's message", (e) => e.roomId === room && e.content.body === "reinstalled");
    const warning = noticesIn(w, room, /THE SECURITY CODE WITH \+49 1511 2345678 CHANGED, and you had verified it/);
    assert.equal(warning.length, 1);
    assert.match(String(warning[0]!.content.body), /your messages here are held/);

    await w.user.sendText(room, "is this really you?");
    await w.user.waitForEvent("the held notice", (e) => e.roomId === room && String(e.content.body).startsWith("⏸ Not sent yet"));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await w.gk.received(ANNA)).some((m) => conversation(m) === "is this really you?"), false, "held, not sent");

    await w.user.sendText(room, "!wa verify");
    await w.gk.waitForMessage(ANNA, (m) => conversation(m) === "is this really you?", 20_000);
  });
});

describe("bridge end to end: block, unblock, report and flood limits", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let room: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("moderation", [{ phone: ANNA, name: "Anna" }, { phone: BERT, name: "Bert" }, { phone: FLO, name: "Flo" }], undefined, undefined, false, {
      senderLimits: { messagesPerMinute: 6, newChatsPerHour: 2 },
    });
    mgmt = await managementRoom(w);
    room = await openChat(w, mgmt, BERT);
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  it("blocks a number at the gatekeeper: the contact's messages are refused with BLOCKED until unblocked", async () => {
    await w.user.sendText(mgmt, "block +49 1511 2345678");
    await w.user.waitForEvent("the block confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("🚫 You blocked +49 1511 2345678"));
    assert.deepEqual((await w.gk.providerUserBlocks(w.userUri)).blocked, [`tel:${ANNA}`], "the gatekeeper's view");
    assert.equal((await refusedWith(w.gk.sendAs(ANNA, { to: w.userUri, text: "let me in" }))).errcode, "BLOCKED");

    await w.user.sendText(mgmt, "blocked");
    await w.user.waitForEvent("the list", (e) => e.roomId === mgmt && e.content.body === "You blocked:\n• +49 1511 2345678");
    await w.user.sendText(mgmt, `unblock ${ANNA}`);
    await w.user.waitForEvent("the unblock confirmation", (e) => e.roomId === mgmt && String(e.content.body).startsWith("✅ You unblocked"));
    assert.deepEqual((await w.gk.providerUserBlocks(w.userUri)).blocked, []);
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "thanks" });
    await w.user.acceptInviteFrom(w.puppet(ANNA));
  });

  it("blocks from inside a chat: the portal says so, and refuses the user's messages there", async () => {
    await w.user.sendText(room, "!wa block");
    await w.user.waitForEvent("the block notice in the portal", (e) => e.roomId === room && String(e.content.body).startsWith("🚫 You blocked +49 1513 3333333"));
    await w.user.sendText(room, "one more thing");
    await w.user.waitForEvent("the refusal", (e) => e.roomId === room && String(e.content.body).includes("you blocked +49 1513 3333333"));
    assert.equal((await refusedWith(w.gk.sendAs(BERT, { to: w.userUri, text: "hey" }))).errcode, "BLOCKED");
    await w.user.sendText(room, "!wa unblock");
    await w.user.waitForEvent("the unblock notice", (e) => e.roomId === room && String(e.content.body).startsWith("✅ You unblocked"));
  });

  it("reports the contact with the IDs of their last messages, which the gatekeeper records", async () => {
    const first = await w.gk.sendAs(BERT, { to: w.userUri, text: "buy now" });
    await w.user.waitForEvent("Bert's first", (e) => e.roomId === room && e.content.body === "buy now");
    const second = await w.gk.sendAs(BERT, { to: w.userUri, text: "limited offer" });
    await w.user.waitForEvent("Bert's second", (e) => e.roomId === room && e.content.body === "limited offer");
    await w.user.sendText(room, "!wa report 2 spam");
    const answer = await w.user.waitForEvent("the report confirmation", (e) => e.roomId === room && String(e.content.body).startsWith("🚩 You reported"));
    const [report] = await w.gk.reports({ phone: BERT });
    assert.ok(report);
    assert.equal(report.reporter, w.userUri);
    assert.equal(report.reason, "SPAM");
    assert.deepEqual(report.messageIds, [second, first]);
    assert.match(String(answer.content.body), new RegExp(`reference ${report.id}`));
  });

  it("refuses a phone user over its messages per minute with RATE_LIMITED", async () => {
    for (let i = 0; i < 6; i++) await w.gk.sendAs(FLO, { to: w.userUri, text: `flood ${i}` });
    const refused = await refusedWith(w.gk.sendAs(FLO, { to: w.userUri, text: "flood 6" }));
    assert.equal(refused.status, 429);
    assert.equal(refused.errcode, "RATE_LIMITED");
    assert.ok((refused.retryAfterMs ?? 0) > 0);
  });

  it("refuses a phone user's third new chat in the hour with RATE_LIMITED, while its chats go on", async () => {
    // Anna wrote to the Matrix user first (the block test): one chat. A second Matrix user is her second.
    const others: MatrixTestUser[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const other = await MatrixTestUser.create(w.env.synapse, `chats${i}x${Date.now() % 1_000_000}`);
        others.push(other);
        const dm = await other.createDm(w.bot);
        await other.waitForEvent("the bot's help", (e) => e.roomId === dm && e.sender === w.bot && String(e.content.body).includes("start-chat"));
      }
      const uri = (u: MatrixTestUser) => `matrix:u/${u.userId.slice(1)}`;
      await w.gk.sendAs(ANNA, { to: uri(others[0]!), text: "hi there" });
      const refused = await refusedWith(w.gk.sendAs(ANNA, { to: uri(others[1]!), text: "hi again" }));
      assert.equal(refused.status, 429);
      assert.equal(refused.errcode, "RATE_LIMITED");
      assert.match(refused.message, /new chats per hour/);
      assert.ok((refused.retryAfterMs ?? 0) > 3_000_000, "when the first chat of the hour stops counting");
      await w.gk.sendAs(ANNA, { to: w.userUri, text: "an old chat is no new one" });
      await w.user.waitForEvent("Anna's message", (e) => e.content.body === "an old chat is no new one");
    } finally {
      for (const other of others) other.stop();
    }
  });

  it("holds the user's own messages over the limit, tells them, and drops none", async () => {
    const flood = await w.user.sendText(mgmt, `start-chat ${FLO}`).then(() => w.user.acceptInviteFrom(w.puppet(FLO)));
    // The user has sent a few messages already this minute; these go over the limit of six.
    for (let i = 0; i < 6; i++) await w.user.sendText(flood, `mine ${i}`);
    const notice = await w.user.waitForEvent("the rate-limit notice", (e) => e.roomId === flood && String(e.content.body).startsWith("⏳ Not sent yet"), 30_000);
    assert.match(String(notice.content.body), /goes out by itself/);
    const received = (await w.gk.received(FLO)).filter((m) => String(conversation(m)).startsWith("mine "));
    assert.ok(received.length < 6, "some are held");
    // What did not go out waits in the bridge's outbox for the gatekeeper's retry time.
    const waiting = await withBridgeDatabase(w.config, (db) => db.get<{ n: unknown }>("SELECT count(*) AS n FROM outbox WHERE remote_uri = ? AND event_id IS NOT NULL", [`tel:${FLO}`]));
    assert.equal(Number(waiting?.n), 6 - received.length);
  });
});
