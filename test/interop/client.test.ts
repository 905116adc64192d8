// The interop client against a real `dma-gatekeeper serve` process over real sockets; the gatekeeper's simulated
// users run real libsignal, so every message here is really encrypted, routed, decrypted and answered.
import assert from "node:assert/strict";
import { encodeContent } from "../../src/protocol/content.js";
import { textContent } from "../../src/protocol/content-builders.js";
import { messageIdToString, newMessageId } from "../../src/protocol/message-id.js";
import { GatekeeperHttpError, InteropSendError, InteropUnavailableError } from "../../src/interop/index.js";
import type { SignalDeviceStore } from "../../src/protocol/signal/index.js";
import { BridgeSide, DOMAIN, PROVIDER_ID } from "./bridge-side.js";
import {
  eventually,
  type GatekeeperProcess,
  newProviderKey,
  type ProviderKey,
  removeDir,
  startGatekeeperProcess,
} from "./gatekeeper-process.js";

const text = (s: string) => encodeContent(textContent(s));
let phoneCounter = 10;
/** A fresh valid German mobile number per test, so tests on one gatekeeper do not see each other's users. */
const nextPhone = () => `+49151234567${String(phoneCounter++).padStart(2, "0")}`;

async function expectSendError(promise: Promise<unknown>, code: string): Promise<InteropSendError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof InteropSendError, `expected InteropSendError(${code}), got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected InteropSendError(${code}), but the send succeeded`);
}

async function enlist(gk: GatekeeperProcess, key: ProviderKey): Promise<void> {
  await gk.admin.addProvider({ id: PROVIDER_ID, publicKey: key.publicKey, domains: [DOMAIN] });
}

describe("InteropClient against a dma-gatekeeper process", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let key: ProviderKey;
  let bridge: BridgeSide;

  before(async () => {
    gk = await startGatekeeperProcess();
    key = newProviderKey();
    await enlist(gk, key);
    bridge = await BridgeSide.open(gk.url, key);
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
  });

  after(async () => {
    await bridge?.close();
    await gk?.stop();
    if (gk) removeDir(gk.dataDir);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(gk.logs().split("\n").slice(-30).join("\n"));
  });

  it("connects, answers pings and reports its state", async () => {
    const status = bridge.client.status();
    assert.equal(status.state, "connected");
    const rtt = await bridge.client.ping();
    assert.ok(rtt >= 0 && rtt < 1000, `rtt ${rtt}`);
    assert.equal(typeof bridge.client.status().rttMs, "number");
    const providers = await gk.admin.providers();
    assert.equal(providers.find((p) => p.id === PROVIDER_ID)?.connected, true);
  });

  it("fans a message out to every device of the recipient, which decrypt it", async () => {
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Bob", devices: 2, sendReceipts: false });
    const alice = await bridge.user("alice1");
    const id = newMessageId();
    const report = await bridge.client.sendContent(alice, `tel:${phone}`, text("hello bob"), id);
    assert.deepEqual(report.devices, [1, 2]);
    assert.deepEqual(report.identityChangedDevices, []);
    assert.equal(report.messageId, messageIdToString(id));

    const got = await eventually(() => gk.admin.received(phone), (m) => m.length === 2, 10_000, "two device copies");
    assert.deepEqual(got.map((m) => m.deviceId).sort(), [1, 2]);
    for (const m of got) {
      assert.equal(m.messageId, messageIdToString(id));
      assert.equal(m.sender, alice.local.uri);
      assert.deepEqual(m.content, { message: { conversation: "hello bob" } });
    }

    // Second message: sessions exist, no bundles needed; normal (non-PreKey) messages once Bob has replied.
    await bridge.client.sendContent(alice, `tel:${phone}`, text("second"), newMessageId());
    await eventually(() => gk.admin.received(phone), (m) => m.length === 4, 10_000, "second message");
  });

  it("receives, decrypts and acknowledges what simulated users send, including delivery receipts", async () => {
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Carol", devices: 1 });
    const alice = await bridge.user("alice2");
    const id = newMessageId();
    await bridge.client.sendContent(alice, `tel:${phone}`, text("ping"), id);
    const { id: replyId } = await gk.admin.send(phone, { to: alice.local.uri, text: "pong" });

    await eventually(() => bridge.textsFrom(`tel:${phone}`), (t) => t.includes("pong"), 10_000, "reply");
    const receipt = await eventually(
      () => bridge.received.find((r) => r.sender === `tel:${phone}` && r.content.receipt),
      (r) => r !== undefined,
      10_000,
      "delivery receipt",
    );
    assert.deepEqual(receipt!.content.receipt!.messageIds, [messageIdToString(id)]);
    const reply = bridge.received.find((r) => r.content.message?.conversation === "pong")!;
    assert.equal(reply.entry.messageId, replyId);
    assert.equal(reply.identityChanged, false);
    // Acknowledged: nothing stays queued for the provider.
    await eventually(async () => (await gk.admin.providers())[0]!.queued, (n) => n === 0, 10_000, "empty queue");
  });

  it("does not acknowledge an envelope whose handler failed, and handles it again later", async () => {
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Dave", devices: 1 });
    const alice = await bridge.user("alice3");
    const before = bridge.handled;
    bridge.failNext = 2;
    await gk.admin.send(phone, { to: alice.local.uri, text: "try again" });
    await eventually(() => bridge.textsFrom(`tel:${phone}`), (t) => t.includes("try again"), 10_000, "retried envelope");
    assert.ok(bridge.handled - before >= 3, "two failures, then success");
    await eventually(async () => (await gk.admin.providers())[0]!.queued, (n) => n === 0, 10_000, "empty queue");
  });

  it("follows device list changes: added device, removed device, re-registered device", async () => {
    const phone = nextPhone();
    const to = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Erin", devices: 1, sendReceipts: false });
    const alice = await bridge.user("alice4");
    await bridge.client.sendContent(alice, to, text("one device"), newMessageId());

    await gk.admin.addDevice(phone);
    const added = await bridge.client.sendContent(alice, to, text("two devices"), newMessageId());
    assert.deepEqual(added.devices, [1, 2]);

    await gk.admin.resetIdentity(phone, 1);
    const reset = await bridge.client.sendContent(alice, to, text("after reinstall"), newMessageId());
    assert.deepEqual(reset.devices, [1, 2]);
    assert.deepEqual(reset.identityChangedDevices, [1], "the reinstall is reported as a changed security code");

    await gk.admin.removeDevice(phone, 2);
    const removed = await bridge.client.sendContent(alice, to, text("one again"), newMessageId());
    assert.deepEqual(removed.devices, [1]);

    const got = await eventually(
      () => gk.admin.received(phone),
      (m) => m.filter((x) => (x.content as { message?: { conversation?: string } }).message?.conversation === "one again").length === 1,
      10_000,
      "all copies",
    );
    const texts = got.map((m) => `${m.deviceId}:${(m.content as { message?: { conversation?: string } }).message?.conversation}`);
    for (const expected of ["1:one device", "1:two devices", "2:two devices", "1:after reinstall", "1:one again"]) {
      assert.ok(texts.includes(expected), `${expected} in ${JSON.stringify(texts)}`);
    }
    assert.ok(!got.some((m) => "undecryptable" in m.content), JSON.stringify(got));
  });

  it("at the envelope level, learns a changed device list through STALE_DEVICES", async () => {
    const phone = nextPhone();
    const to = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Faye", devices: 1, sendReceipts: false });
    const alice = await bridge.user("alice5");
    await bridge.client.sendContent(alice, to, text("first"), newMessageId());

    // A client that is not connected (the gatekeeper allows one connection per provider), so it never hears the
    // DevicesChanged notice: it read the device list [1] before the device was added. Its envelopes go out through
    // the connected client, as an outbox would send them.
    const restarted = await BridgeSide.open(gk.url, key);
    try {
      const early = await restarted.client.encryptMessage({ from: alice, to, plaintext: text("read the list"), messageId: newMessageId() });
      assert.deepEqual(early.devices, [1]);
      assert.equal((await bridge.client.sendEnvelopes(early.envelopes)).ok, true);
      await gk.admin.addDevice(phone);
      const id = newMessageId();
      const first = await restarted.client.encryptMessage({ from: alice, to, plaintext: text("stale"), messageId: id });
      assert.deepEqual(first.devices, [1]);
      const result = await bridge.client.sendEnvelopes(first.envelopes);
      assert.equal(result.ok, false);
      assert.equal(InteropSendError.fromResult(result, to).code, "STALE_DEVICES");
      assert.deepEqual([...result.currentDevices], [1, 2]);
      const rebuild = restarted.client.applySendResult(to, result);
      assert.deepEqual([...rebuild], []);
      const second = await restarted.client.encryptMessage({ from: alice, to, plaintext: text("stale"), messageId: id, rebuild });
      assert.deepEqual(second.devices, [1, 2]);
      assert.equal((await bridge.client.sendEnvelopes(second.envelopes)).ok, true);
    } finally {
      await restarted.close();
    }
    const got = await eventually(() => gk.admin.received(phone), (m) => m.filter((x) => x.messageId).length === 4, 10_000, "copies");
    assert.deepEqual(got.map((m) => m.deviceId).sort(), [1, 1, 1, 2]);
  });

  it("after a restart, reads the device list from the directory before its first send (no STALE_DEVICES round trip)", async () => {
    const phone = nextPhone();
    const to = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Gina", devices: 1, sendReceipts: false });
    const alice = await bridge.user("alice5b");
    await bridge.client.sendContent(alice, to, text("before"), newMessageId());
    // Gina adds a device and re-registers the old one while "the bridge is down"; a client started afterwards
    // has sessions (with device 1's old registration) but has heard nothing.
    await gk.admin.addDevice(phone);
    await gk.admin.resetIdentity(phone, 1);
    const restarted = await BridgeSide.open(gk.url, key);
    try {
      const first = await restarted.client.encryptMessage({ from: alice, to, plaintext: text("after"), messageId: newMessageId() });
      assert.deepEqual(first.devices, [1, 2], "both devices on the first try");
      assert.deepEqual(first.identityChangedDevices, [1], "the re-registered device got a fresh session");
      assert.equal((await bridge.client.sendEnvelopes(first.envelopes)).ok, true, "the gatekeeper takes them as they are");
    } finally {
      await restarted.close();
    }
  });

  it("reports refusals with typed errors: unknown user, not opted in, blocked", async () => {
    const alice = await bridge.user("alice6");
    await expectSendError(bridge.client.sendContent(alice, `tel:${nextPhone()}`, text("anyone?"), newMessageId()), "UNKNOWN_USER");

    const shy = nextPhone();
    await gk.admin.addUser({ phone: shy, name: "Shy", optedIn: false });
    await expectSendError(bridge.client.sendContent(alice, `tel:${shy}`, text("hi"), newMessageId()), "NOT_OPTED_IN");
    await assert.rejects(bridge.client.lookup(`tel:${shy}`), (err: unknown) => err instanceof GatekeeperHttpError && err.errcode === "NOT_OPTED_IN");

    const grumpy = nextPhone();
    await gk.admin.addUser({ phone: grumpy, name: "Grumpy" });
    await gk.admin.block(grumpy, alice.local.uri);
    await expectSendError(bridge.client.sendContent(alice, `tel:${grumpy}`, text("hi"), newMessageId()), "BLOCKED");

    const entry = await bridge.client.lookup(`tel:${grumpy}`);
    assert.equal(entry.profile.name, "Grumpy");
    assert.deepEqual(entry.devices.map((d) => d.deviceId), [1]);
  });

  it("resending the same envelopes after a lost answer delivers once", async () => {
    const phone = nextPhone();
    const to = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Gina", devices: 1, sendReceipts: false });
    const alice = await bridge.user("alice7");
    const out = await bridge.client.encryptMessage({ from: alice, to, plaintext: text("once"), messageId: newMessageId() });
    assert.equal((await bridge.client.sendEnvelopes(out.envelopes)).ok, true);
    assert.equal((await bridge.client.sendEnvelopes(out.envelopes)).ok, true);
    await eventually(() => gk.admin.received(phone), (m) => m.length >= 1, 10_000, "delivery");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await gk.admin.received(phone)).length, 1);
  });
  it("measures send and receive round trips over the real socket", async () => {
    const phone = nextPhone();
    const to = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Speedy", devices: 2, sendReceipts: false });
    const alice = await bridge.user("speedy");
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const t0 = performance.now();
    await bridge.client.sendContent(alice, to, text("first contact"), newMessageId());
    const firstContactMs = performance.now() - t0;
    const sends: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await bridge.client.sendContent(alice, to, text(`message ${i}`), newMessageId());
      sends.push(performance.now() - t);
    }
    // Receive: from the admin API call until the handler has decrypted and stored it.
    const receives: number[] = [];
    for (let i = 0; i < 10; i++) {
      const before = bridge.received.length;
      const t = performance.now();
      await gk.admin.send(phone, { to: alice.local.uri, text: `reply ${i}` });
      await eventually(() => bridge.received.length, (n) => n > before, 10_000, "reply");
      receives.push(performance.now() - t);
    }
    const report = {
      firstContactTwoDevicesMs: Math.round(firstContactMs * 10) / 10,
      sendTwoDevicesMedianMs: Math.round(median(sends) * 10) / 10,
      simulatedUserToHandlerMedianMs: Math.round(median(receives) * 10) / 10,
    };
    console.log("      interop timings:", JSON.stringify(report));
    assert.ok(report.sendTwoDevicesMedianMs < 500);
  });
});

describe("InteropClient connection handling", function () {
  this.timeout(60_000);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function gatekeeper(args: string[] = []): Promise<{ gk: GatekeeperProcess; key: ProviderKey }> {
    const gk = await startGatekeeperProcess({ args });
    cleanups.push(async () => {
      await gk.stop();
      removeDir(gk.dataDir);
    });
    const key = newProviderKey();
    await enlist(gk, key);
    return { gk, key };
  }

  async function bridgeFor(gk: { url: string }, key: ProviderKey, options = {}, restartOf?: BridgeSide): Promise<BridgeSide> {
    const b = await BridgeSide.open(gk.url, key, options, restartOf);
    cleanups.push(() => b.close());
    return b;
  }

  it("reconnects with backoff after the gatekeeper restarts, and a send waits for it", async () => {
    const { gk, key } = await gatekeeper();
    const bridge = await bridgeFor(gk, key);
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Hank", sendReceipts: false });
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
    const alice = await bridge.user("restart");
    const states: string[] = [];
    bridge.client.on("state", (s) => states.push(s.state));

    await gk.stop();
    await eventually(() => bridge.client.status().state, (s) => s === "waiting", 10_000, "waiting state");
    assert.ok(bridge.client.status().lastError);
    assert.ok(bridge.client.status().nextRetryAt! > Date.now() - 1000);

    const sending = bridge.client.sendContent(alice, `tel:${phone}`, text("sent while down"), newMessageId());
    const again = await startGatekeeperProcess({ dataDir: gk.dataDir, port: gk.port });
    cleanups.push(() => again.stop());
    await sending;
    assert.equal(bridge.client.status().state, "connected");
    assert.ok(states.includes("waiting") && states.at(-1) === "connected", states.join(","));
    await eventually(() => again.admin.received(phone), (m) => m.length === 1, 10_000, "delivery after restart");
  });

  it("catches up on a device change made while it was disconnected", async () => {
    const { gk, key } = await gatekeeper();
    const bridge = await bridgeFor(gk, key);
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Hugo", sendReceipts: false });
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
    const alice = await bridge.user("catchup");
    assert.deepEqual((await bridge.client.sendContent(alice, `tel:${phone}`, text("one device"), newMessageId())).devices, [1]);

    await gk.stop();
    await eventually(() => bridge.client.status().state, (s) => s === "waiting", 10_000, "waiting state");
    const again = await startGatekeeperProcess({ dataDir: gk.dataDir, port: gk.port });
    cleanups.push(() => again.stop());
    await again.admin.addDevice(phone);
    await bridge.client.connection.waitConnected(30_000);
    const after = await bridge.client.encryptMessage({ from: alice, to: `tel:${phone}`, plaintext: text("two devices"), messageId: newMessageId() });
    assert.deepEqual(after.devices, [1, 2], "the device added while it was away gets its copy on the first try");
    assert.equal((await bridge.client.sendEnvelopes(after.envelopes)).ok, true);
  });

  it("keeps a chat's order when an envelope's handler fails: that chat waits, the others go on", async () => {
    const { gk, key } = await gatekeeper();
    const bridge = await bridgeFor(gk, key, { handlerRetry: { initialMs: 3000, maxMs: 3000 } });
    const [anna, ben] = [nextPhone(), nextPhone()];
    await gk.admin.addUser({ phone: anna, name: "Anna", sendReceipts: false });
    await gk.admin.addUser({ phone: ben, name: "Ben", sendReceipts: false });
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
    const alice = await bridge.user("order");
    bridge.failNext = 1; // the first envelope's handler fails once (a full disk, say)
    for (const t of ["a1", "a2", "a3"]) await gk.admin.send(anna, { to: alice.local.uri, text: t });
    await gk.admin.send(ben, { to: alice.local.uri, text: "b1" });
    await eventually(() => bridge.textsFrom(`tel:${anna}`), (t) => t.length === 3, 20_000, "Anna's three messages");
    assert.deepEqual(bridge.textsFrom(`tel:${anna}`), ["a1", "a2", "a3"]);
    const order = bridge.received.map((r) => `${r.sender === `tel:${ben}` ? "b" : "a"}:${r.content.message?.conversation}`);
    assert.ok(order.indexOf("b:b1") < order.indexOf("a:a1"), `Ben's chat did not wait for Anna's: ${order.join(", ")}`);
  });

  it("redelivers unacknowledged envelopes to the next connection", async () => {
    const { gk, key } = await gatekeeper();
    const first = await bridgeFor(gk, key);
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Ivy" });
    first.client.start();
    await first.client.connection.waitConnected(10_000);
    const alice = await first.user("redeliver");
    first.failNext = 1_000_000;
    await gk.admin.send(phone, { to: alice.local.uri, text: "keep me" });
    await eventually(() => first.handled, (n) => n >= 1, 10_000, "first attempt");
    await first.client.stop();
    assert.equal((await gk.admin.providers())[0]!.queued, 1);

    // A restarted bridge with the same database.
    const second = await bridgeFor(gk, key, {}, first);
    second.client.start();
    await eventually(() => second.textsFrom(`tel:${phone}`), (t) => t.includes("keep me"), 10_000, "redelivery");
    await eventually(async () => (await gk.admin.providers())[0]!.queued, (n) => n === 0, 10_000, "ack");
  });

  it("stops when another connection of the same provider replaces it", async () => {
    const { gk, key } = await gatekeeper();
    const a = await bridgeFor(gk, key);
    a.client.start();
    await a.client.connection.waitConnected(10_000);
    const b = await bridgeFor(gk, key);
    b.client.start();
    await b.client.connection.waitConnected(10_000);
    await eventually(() => a.client.status().state, (s) => s === "replaced", 10_000, "replaced");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.client.status().state, "connected");
  });

  it("keeps retrying with a key the gatekeeper does not know, and says why", async () => {
    const { gk } = await gatekeeper();
    const stranger = await bridgeFor(gk, newProviderKey());
    stranger.client.start();
    await eventually(() => stranger.client.status(), (s) => s.failures >= 2, 10_000, "failed attempts");
    assert.equal(stranger.client.status().state === "connected", false);
    assert.match(stranger.client.status().lastError ?? "", /401/);
    await assert.rejects(stranger.client.lookup("tel:+4915112345678"), (err: unknown) => err instanceof GatekeeperHttpError && err.status === 401);
    await assert.rejects(
      stranger.client.sendEnvelopes([], { timeoutMs: 300 }),
      (err: unknown) => err instanceof InteropUnavailableError && !err.outcomeUnknown,
    );
  });

  it("detects a silent gatekeeper with its keepalive and reconnects", async () => {
    const { gk, key } = await gatekeeper();
    const bridge = await bridgeFor(gk, key, { connection: { pingIntervalMs: 200, pongTimeoutMs: 200, backoff: { initialMs: 50, maxMs: 200 } } });
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
    // Freeze the gatekeeper process: the TCP connection stays open but nothing answers.
    const pid = gk.pid;
    process.kill(pid, "SIGSTOP");
    try {
      await eventually(() => bridge.client.status().state, (s) => s !== "connected", 5_000, "dead link detected");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await bridge.client.connection.waitConnected(10_000);
  });

  it("reports RATE_LIMITED with the time to wait", async () => {
    const { gk, key } = await gatekeeper(["--rate-burst", "1", "--rate-per-second", "1"]);
    const bridge = await bridgeFor(gk, key);
    const phone = nextPhone();
    await gk.admin.addUser({ phone, name: "Jo", sendReceipts: false });
    bridge.client.start();
    const alice = await bridge.user("limited");
    await bridge.client.sendContent(alice, `tel:${phone}`, text("one"), newMessageId());
    const err = await expectSendError(bridge.client.sendContent(alice, `tel:${phone}`, text("two"), newMessageId()), "RATE_LIMITED");
    assert.ok(err.retryAfterMs! > 0 && err.retryAfterMs! <= 1000, String(err.retryAfterMs));
    assert.equal(err.retryable, true);
  });

  it("refills one-time prekeys when the gatekeeper reports them low", async () => {
    const { gk, key } = await gatekeeper(["--prekey-low", "5"]);
    const bridge = await bridgeFor(gk, key, { prekeyTarget: 12 });
    bridge.client.start();
    await bridge.client.connection.waitConnected(10_000);
    const alice: SignalDeviceStore = await bridge.user("lowkeys", 6);
    const lows: number[] = [];
    bridge.client.on("prekeysLow", (n) => lows.push(n.remaining));
    // Each simulated user that writes first fetches one of Alice's bundles.
    for (const name of ["K1", "K2"]) {
      const phone = nextPhone();
      await gk.admin.addUser({ phone, name, sendReceipts: false });
      await gk.admin.send(phone, { to: alice.local.uri, text: `hi from ${name}` });
    }
    await eventually(() => lows, (l) => l.length >= 1, 10_000, "PrekeysLow");
    const counts = await eventually(
      () => bridge.client.api.keyCounts(alice.local.uri),
      (c) => c.devices[0]!.oneTimePreKeys === 12 && c.devices[0]!.oneTimeKyberPreKeys === 12,
      10_000,
      "refilled counts",
    );
    assert.equal(counts.devices.length, 1);
    // The messages that used the old keys still decrypt.
    await eventually(() => bridge.received.length, (n) => n === 2, 10_000, "both messages");
    assert.deepEqual(bridge.undecryptable, []);
  });
});
