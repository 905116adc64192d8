// Blocks, reports and flood limits (interop-protocol §7.5) between the bridge's interop client and a real
// `dma-gatekeeper serve`: the gatekeeper keeps and enforces a user's blocks, records reports and acts on them, and
// refuses senders over their flood limits with RATE_LIMITED. The gatekeeper's view is read through its admin API.
import assert from "node:assert/strict";
import { encodeContent } from "../../src/protocol/content.js";
import { textContent } from "../../src/protocol/content-builders.js";
import { messageIdFromString, newMessageId } from "../../src/protocol/message-id.js";
import { ReportReason } from "../../src/protocol/safety.js";
import { AdminApiError } from "../../src/gatekeeper/admin-client.js";
import { GatekeeperHttpError, InteropSendError } from "../../src/interop/index.js";
import { BridgeSide, DOMAIN, PROVIDER_ID } from "./bridge-side.js";
import { eventually, type GatekeeperProcess, newProviderKey, type ProviderKey, removeDir, startGatekeeperProcess } from "./gatekeeper-process.js";

const text = (s: string) => encodeContent(textContent(s));
let phoneCounter = 10;
const nextPhone = () => `+49151765432${String(phoneCounter++).padStart(2, "0")}`;

async function adminError(promise: Promise<unknown>): Promise<AdminApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminApiError, `expected an admin API error, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the admin API to refuse");
}

async function httpError(promise: Promise<unknown>): Promise<GatekeeperHttpError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GatekeeperHttpError, `expected GatekeeperHttpError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected the gatekeeper to refuse");
}

async function withGatekeeper(args: string[]): Promise<{ gk: GatekeeperProcess; key: ProviderKey; bridge: BridgeSide }> {
  const gk = await startGatekeeperProcess({ args });
  const key = newProviderKey();
  await gk.admin.addProvider({ id: PROVIDER_ID, publicKey: key.publicKey, domains: [DOMAIN] });
  const bridge = await BridgeSide.open(gk.url, key);
  bridge.client.start();
  await bridge.client.connection.waitConnected(10_000);
  return { gk, key, bridge };
}

describe("blocks and reports at the gatekeeper", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let key: ProviderKey;
  let bridge: BridgeSide;

  before(async () => {
    ({ gk, key, bridge } = await withGatekeeper(["--suspend-after-reports", "2"]));
  });

  after(async () => {
    await bridge?.close();
    bridge?.dir.remove(); // a restarted bridge does not remove the directory it took over
    await gk?.stop();
    if (gk) removeDir(gk.dataDir);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(gk.logs().split("\n").slice(-30).join("\n"));
  });

  it("refuses a blocked sender's messages with BLOCKED until the user unblocks", async () => {
    const phone = nextPhone();
    const bob = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Bob", sendReceipts: false });
    const alice = await bridge.user("block1");
    await gk.admin.send(phone, { to: alice.local.uri, text: "before" });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("before"), 10_000, "first message");

    assert.deepEqual(await bridge.client.block(alice.local.uri, bob), [bob]);
    assert.deepEqual(await bridge.client.block(alice.local.uri, bob), [bob], "blocking twice is harmless");
    assert.deepEqual(await bridge.client.blocks(alice.local.uri), [bob]);
    assert.deepEqual((await gk.admin.providerUserBlocks(alice.local.uri)).blocked, [bob], "the gatekeeper's view");

    const refused = await adminError(gk.admin.send(phone, { to: alice.local.uri, text: "while blocked" }));
    assert.equal(refused.status, 403);
    assert.equal(refused.errcode, "BLOCKED");

    assert.deepEqual(await bridge.client.unblock(alice.local.uri, bob), []);
    await gk.admin.send(phone, { to: alice.local.uri, text: "after" });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("after"), 10_000, "message after unblocking");
    assert.ok(!bridge.textsFrom(bob).includes("while blocked"));
  });

  it("takes a blocked sender's queued envelopes off the queue and tells the sender they were refused", async () => {
    const phone = nextPhone();
    const bob = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Bob", sendReceipts: false });
    const alice = await bridge.user("block2");
    // The bridge is offline while Bob writes: his message waits in the provider's queue.
    await bridge.client.stop();
    const { id } = await gk.admin.send(phone, { to: alice.local.uri, text: "queued" });
    const offline = await BridgeSide.open(gk.url, key, {}, bridge);
    try {
      await offline.client.block(alice.local.uri, bob);
      const refusals = await gk.admin.refusals(phone);
      assert.deepEqual(
        refusals.map((r) => [r.messageId, r.code, r.recipient]),
        [[id, "BLOCKED", alice.local.uri]],
      );
      offline.client.start();
      await offline.client.connection.waitConnected(10_000);
      await eventually(async () => (await gk.admin.providers())[0]!.queued, (n) => n === 0, 5_000, "empty queue");
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(offline.textsFrom(bob), [], "nothing of the blocked sender is delivered");
    } finally {
      await offline.client.stop();
      bridge = await BridgeSide.open(gk.url, key, {}, offline);
      bridge.client.start();
      await bridge.client.connection.waitConnected(10_000);
    }
  });

  it("changes blocks only with the user's own token, and only for tel: users", async () => {
    const alice = await bridge.user("block3");
    const bob = `tel:${nextPhone()}`;
    const providerToken = await bridge.client.tokens.providerToken();
    const put = await fetch(`${gk.url}/v1/blocks/${encodeURIComponent(alice.local.uri)}/${encodeURIComponent(bob)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${providerToken}` },
    });
    assert.equal(put.status, 403);
    assert.equal(((await put.json()) as { errcode: string }).errcode, "FORBIDDEN");
    // Reading the list is allowed to the provider, and answers the protobuf JSON form (proto field names).
    const get = await fetch(`${gk.url}/v1/blocks/${encodeURIComponent(alice.local.uri)}`, { headers: { authorization: `Bearer ${providerToken}` } });
    assert.equal(get.status, 200);
    assert.deepEqual(await get.json(), { user: alice.local.uri });

    const other = await bridge.user("block3b");
    const err = await httpError(bridge.client.block(alice.local.uri, other.local.uri));
    assert.equal(err.status, 400);
    assert.equal(err.errcode, "INVALID");
  });

  it("records reports with their message IDs and suspends a user two distinct users reported", async () => {
    const phone = nextPhone();
    const bob = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Spammer", sendReceipts: false });
    const alice = await bridge.user("report1");
    const carol = await bridge.user("report2");
    const { id: m1 } = await gk.admin.send(phone, { to: alice.local.uri, text: "win a prize" });
    const { id: m2 } = await gk.admin.send(phone, { to: alice.local.uri, text: "click here" });

    const ref = await bridge.client.report({
      reporter: alice.local.uri,
      reported: bob,
      messageIds: [messageIdFromString(m1), messageIdFromString(m2)],
      reason: ReportReason.SPAM,
      comment: "unsolicited",
    });
    assert.match(ref, /^r-/);
    // The same reporter again does not count twice.
    await bridge.client.report({ reporter: alice.local.uri, reported: bob, messageIds: [], reason: ReportReason.SPAM });
    assert.equal((await gk.admin.user(phone)).suspended, false);
    await gk.admin.send(phone, { to: carol.local.uri, text: "still sending" });

    const reports = await gk.admin.reports({ phone });
    assert.equal(reports.length, 2);
    assert.deepEqual(
      { id: reports[0]!.id, reporter: reports[0]!.reporter, reason: reports[0]!.reason, messageIds: reports[0]!.messageIds, comment: reports[0]!.comment },
      { id: ref, reporter: alice.local.uri, reason: "SPAM", messageIds: [m1, m2], comment: "unsolicited" },
    );

    await bridge.client.report({ reporter: carol.local.uri, reported: bob, messageIds: [], reason: ReportReason.SCAM });
    const user = await gk.admin.user(phone);
    assert.equal(user.suspended, true);
    assert.match(user.suspendedReason ?? "", /reported by 2 users/);
    const refused = await adminError(gk.admin.send(phone, { to: carol.local.uri, text: "after suspension" }));
    assert.equal(refused.errcode, "SUSPENDED");

    await gk.admin.unsuspend(phone);
    await gk.admin.send(phone, { to: carol.local.uri, text: "lifted" });
  });

  it("refuses a report that breaks the rules, naming the field", async () => {
    const alice = await bridge.user("report3");
    const unknown = await httpError(bridge.client.report({ reporter: alice.local.uri, reported: `tel:${nextPhone()}`, messageIds: [], reason: ReportReason.ABUSE }));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.errcode, "UNKNOWN_USER");

    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Bob" });
    // Another user's report cannot be sent with this user's token.
    const other = await bridge.user("report4");
    const token = await bridge.client.tokens.userToken(alice.local.uri);
    const forged = await fetch(`${gk.url}/v1/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ reporter: other.local.uri, reported: `tel:${phone}`, reason: "SPAM" }),
    });
    assert.equal(forged.status, 403);
    const bad = await fetch(`${gk.url}/v1/reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ reporter: alice.local.uri, reported: `tel:${phone}`, reason: "SPAM", message_ids: ["AAEC"] }),
    });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { errcode: string; error: string };
    assert.equal(body.errcode, "INVALID");
    assert.match(body.error, /message_ids\[0\]/);
    assert.equal((await gk.admin.reports({ phone })).length, 0);
  });
});

describe("flood limits per sender at the gatekeeper", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let key: ProviderKey;
  let bridge: BridgeSide;

  before(async () => {
    ({ gk, key, bridge } = await withGatekeeper(["--sender-messages-per-minute", "4", "--sender-new-chats-per-hour", "2"]));
  });

  after(async () => {
    await bridge?.close();
    bridge?.dir.remove(); // a restarted bridge does not remove the directory it took over
    await gk?.stop();
    if (gk) removeDir(gk.dataDir);
  });

  it("refuses a simulated sender over its messages per minute with RATE_LIMITED and a retry time", async () => {
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Flood", sendReceipts: false });
    const alice = await bridge.user("flood1");
    for (let i = 0; i < 4; i++) await gk.admin.send(phone, { to: alice.local.uri, text: `m${i}` });
    const refused = await adminError(gk.admin.send(phone, { to: alice.local.uri, text: "one too many" }));
    assert.equal(refused.status, 429);
    assert.equal(refused.errcode, "RATE_LIMITED");
    assert.ok(refused.retryAfterMs !== undefined && refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, `retry after ${refused.retryAfterMs}`);
    await eventually(() => bridge.textsFrom(`tel:${phone}`), (t) => t.length === 4, 10_000, "the four allowed messages");
  });

  it("refuses a provider user's third new chat within the hour, but not more messages to an existing chat", async () => {
    const alice = await bridge.user("flood2");
    const phones = [nextPhone(), nextPhone(), nextPhone()];
    for (const phone of phones) await gk.admin.addUser({ phone, name: "Contact", sendReceipts: false });
    await bridge.client.sendContent(alice, `tel:${phones[0]}`, text("hi 1"), newMessageId());
    await bridge.client.sendContent(alice, `tel:${phones[1]}`, text("hi 2"), newMessageId());
    let refused: unknown;
    try {
      await bridge.client.sendContent(alice, `tel:${phones[2]}`, text("hi 3"), newMessageId());
    } catch (err) {
      refused = err;
    }
    assert.ok(refused instanceof InteropSendError, String(refused));
    assert.equal(refused.code, "RATE_LIMITED");
    assert.ok((refused.retryAfterMs ?? 0) > 60_000, `a new chat frees up within the hour, not the minute (${refused.retryAfterMs})`);
    // An existing chat is not a new one.
    await bridge.client.sendContent(alice, `tel:${phones[0]}`, text("again"), newMessageId());
    await eventually(() => gk.admin.received(phones[0]!), (m) => m.length === 2, 10_000, "both messages to the first contact");
    assert.equal((await gk.admin.received(phones[2]!)).length, 0);
  });

  it("keeps counting new chats across a gatekeeper restart", async () => {
    const alice = await bridge.user("flood3");
    const phones = [nextPhone(), nextPhone(), nextPhone()];
    for (const p of phones) await gk.admin.addUser({ phone: p, name: "Contact", sendReceipts: false });
    for (const p of phones.slice(0, 2)) await bridge.client.sendContent(alice, `tel:${p}`, text("hello"), newMessageId());

    await bridge.client.stop();
    await gk.stop();
    gk = await startGatekeeperProcess({ dataDir: gk.dataDir, port: gk.port, adminPort: gk.adminPort, args: ["--sender-messages-per-minute", "4", "--sender-new-chats-per-hour", "2"] });
    const again = await BridgeSide.open(gk.url, key, {}, bridge);
    bridge = again;
    again.client.start();
    await again.client.connection.waitConnected(10_000);
    const device = (await again.network.deviceStore(alice.local.uri))!;
    let refused: unknown;
    try {
      await again.client.sendContent(device, `tel:${phones[2]}`, text("third"), newMessageId());
    } catch (err) {
      refused = err;
    }
    assert.ok(refused instanceof InteropSendError && refused.code === "RATE_LIMITED", `the restart forgot the new chats: ${String(refused)}`);
  });
});
