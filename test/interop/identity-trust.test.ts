// Security codes and identity news over real sessions: the bridge's InteropSafety against a `dma-gatekeeper serve`
// whose simulated users run libsignal. The safety number is checked against libsignal's own Fingerprint API for the
// two identity keys, and each identity change (gatekeeper `reset-identity`) or new device is news exactly once,
// whether a receive or a send saw it first, also after the bridge's safety module is made anew (a restart).
import assert from "node:assert/strict";
import { Fingerprint, PublicKey } from "@signalapp/libsignal-client";
import { pino } from "pino";
import { InteropSafety } from "../../src/app/interop-safety.js";
import { toRemoteError } from "../../src/app/interop-side.js";
import { encodeContent } from "../../src/protocol/content.js";
import { textContent } from "../../src/protocol/content-builders.js";
import { newMessageId } from "../../src/protocol/message-id.js";
import { localIdentityKey, scannableMatches } from "../../src/protocol/signal/identity.js";
import type { SignalDeviceStore } from "../../src/protocol/signal/index.js";
import { BridgeSide, DOMAIN, PROVIDER_ID } from "./bridge-side.js";
import { eventually, type GatekeeperProcess, newProviderKey, removeDir, startGatekeeperProcess } from "./gatekeeper-process.js";

const text = (s: string) => encodeContent(textContent(s));
let phoneCounter = 10;
const nextPhone = () => `+49151888777${String(phoneCounter++).padStart(2, "0")}`;

describe("security codes and identity news over real sessions", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let bridge: BridgeSide;

  before(async () => {
    gk = await startGatekeeperProcess();
    const key = newProviderKey();
    await gk.admin.addProvider({ id: PROVIDER_ID, publicKey: key.publicKey, domains: [DOMAIN] });
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

  function safety(policy: "warn" | "block_until_verified" = "warn"): InteropSafety {
    return new InteropSafety({
      client: bridge.client,
      trust: bridge.store.identityTrust,
      device: (userId) => bridge.network.deviceStore(`matrix:u/${userId.slice(1)}`),
      policy,
      log: pino({ level: "silent" }),
      toRemoteError,
    });
  }

  /** A Matrix user and a phone user who have exchanged a message each way (sessions on both sides). */
  async function chat(localpart: string, devices = 1): Promise<{ alice: SignalDeviceStore; userId: string; phone: string; bob: string }> {
    const phone = nextPhone();
    const bob = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Bob", devices, sendReceipts: false });
    const alice = await bridge.user(localpart);
    await bridge.client.sendContent(alice, bob, text("hi"), newMessageId());
    await gk.admin.send(phone, { to: alice.local.uri, text: "hello" });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("hello"), 10_000, "Bob's answer");
    return { alice, userId: `@${localpart}:${DOMAIN}`, phone, bob };
  }

  const sendAsAlice = (alice: SignalDeviceStore, bob: string, body: string) => bridge.client.sendContent(alice, bob, text(body), newMessageId());

  it("computes the safety number libsignal's Fingerprint API computes for the two identities, on both sides", async () => {
    const { alice, userId, bob } = await chat("sn1");
    const [number] = await safety().safetyNumbers(userId, bob);
    assert.ok(number);
    assert.equal(number.device, 1);
    assert.match(number.digits, /^\d{60}$/);

    // Independently: the two identity keys (Bob's from the key service, as any peer would read it) into libsignal.
    const bobKey = PublicKey.deserialize(Buffer.from((await bridge.client.api.fetchBundles(bob, 1)).devices[0]!.identityKey, "base64"));
    const uow = await alice.begin();
    const aliceKey = PublicKey.deserialize(localIdentityKey(uow));
    uow.discard();
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const ours = Fingerprint.new(5200, 2, utf8(alice.local.uri), aliceKey, utf8(bob), bobKey);
    const theirs = Fingerprint.new(5200, 2, utf8(bob), bobKey, utf8(alice.local.uri), aliceKey);
    assert.equal(number.digits, ours.displayableFingerprint().toString());
    assert.equal(number.digits, theirs.displayableFingerprint().toString(), "Bob's phone shows the same digits");
    assert.ok(scannableMatches(Buffer.from(number.qr, "base64"), theirs.scannableFingerprint().toBuffer()), "Bob's QR code matches ours");
  });

  it("verifies with the digits or Bob's QR text, and refuses a code that does not match", async () => {
    const { alice, userId, bob } = await chat("sn2");
    const s = safety();
    const [number] = await s.safetyNumbers(userId, bob);
    assert.deepEqual(await s.verify(userId, bob, "1".repeat(60)), { ok: false, reason: "mismatch" });
    assert.deepEqual(await s.verify(userId, bob, number!.digits.replace(/(\d{5})/g, "$1 ")), { ok: true, devices: [1] });
    const bobKey = PublicKey.deserialize(Buffer.from((await bridge.client.api.fetchBundles(bob, 1)).devices[0]!.identityKey, "base64"));
    const uow = await alice.begin();
    const theirs = Fingerprint.new(5200, 2, new TextEncoder().encode(bob), bobKey, new TextEncoder().encode(alice.local.uri), PublicKey.deserialize(localIdentityKey(uow)));
    uow.discard();
    assert.deepEqual(await s.verify(userId, bob, Buffer.from(theirs.scannableFingerprint().toBuffer()).toString("base64")), { ok: true, devices: [1] });
    assert.deepEqual(await s.verify(userId, "tel:+4915100000000"), { ok: false, reason: "no_session" });
  });

  it("a change first seen on receive is news once, also for a safety module made anew", async () => {
    const { alice, userId, phone, bob } = await chat("idn1");
    const s = safety();
    assert.deepEqual(await s.identityNews(userId, bob), [], "what is seen first is trusted silently");
    const before = (await s.safetyNumbers(userId, bob))[0]!.digits;

    await gk.admin.resetIdentity(phone, 1);
    await gk.admin.send(phone, { to: alice.local.uri, text: "new phone" });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("new phone"), 10_000, "the message under the new identity");
    const news = await s.identityNews(userId, bob);
    assert.deepEqual(news.map((n) => [n.device, n.kind, n.wasVerified]), [[1, "changed", false]]);
    assert.notEqual((await s.safetyNumbers(userId, bob))[0]!.digits, before, "the code changed with the key");

    // Not told yet: a new module (a restart) still has it; told: nobody has it any more.
    assert.deepEqual((await safety().identityNews(userId, bob)).map((n) => n.ref), news.map((n) => n.ref));
    await s.identityNewsTold(userId, bob, news);
    assert.deepEqual(await s.identityNews(userId, bob), []);
    assert.deepEqual(await safety().identityNews(userId, bob), []);
    await sendAsAlice(alice, bob, "ok");
    assert.deepEqual(await s.identityNews(userId, bob), [], "sending afterwards finds nothing new");
  });

  it("a contact's other devices are no news when first written to after a first message from one of them", async () => {
    const phone = nextPhone();
    const bob = `tel:${phone}`;
    await gk.admin.addUser({ phone, name: "Bob", devices: 2, sendReceipts: false });
    const alice = await bridge.user("idn0");
    const userId = `@idn0:${DOMAIN}`;
    await gk.admin.send(phone, { to: alice.local.uri, text: "first, from device 1", device: 1 });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("first, from device 1"), 10_000, "Bob's first message");
    const s = safety();
    assert.deepEqual(await s.identityNews(userId, bob), [], "what is seen first is trusted silently");
    await sendAsAlice(alice, bob, "to both devices"); // the first session with device 2
    assert.deepEqual(await s.identityNews(userId, bob), [], "device 2 was listed when Bob was first seen");
    assert.deepEqual((await s.safetyNumbers(userId, bob)).map((n) => n.device), [1, 2]);

    const { deviceId } = await gk.admin.addDevice(phone);
    await sendAsAlice(alice, bob, "to all three");
    assert.deepEqual((await s.identityNews(userId, bob)).map((n) => [n.device, n.kind]), [[deviceId, "new_device"]], "a device added later is news");
  });

  it("a change first seen on send is news once, and a new device of a verified contact is prominent", async () => {
    const { alice, userId, phone, bob } = await chat("idn2");
    const s = safety();
    await s.identityNews(userId, bob);
    await gk.admin.resetIdentity(phone, 1);
    await sendAsAlice(alice, bob, "are you there?"); // STALE_DEVICES, then a new session from the new bundle
    const news = await s.identityNews(userId, bob);
    assert.deepEqual(news.map((n) => [n.device, n.kind]), [[1, "changed"]]);
    await s.identityNewsTold(userId, bob, news);

    assert.equal((await s.verify(userId, bob)).ok, true);
    const { deviceId } = await gk.admin.addDevice(phone);
    await sendAsAlice(alice, bob, "to both devices");
    const added = await s.identityNews(userId, bob);
    assert.deepEqual(added.map((n) => [n.device, n.kind, n.wasVerified]), [[deviceId, "new_device", true]]);
  });

  it("with block_until_verified, a verified contact's change holds messages until the user verifies again", async () => {
    const { alice, userId, phone, bob } = await chat("hold1");
    const s = safety("block_until_verified");
    assert.equal((await s.verify(userId, bob)).ok, true);
    assert.equal(await s.mustReverify(userId, bob), false);
    assert.equal(await safety("warn").mustReverify(userId, bob), false);

    await gk.admin.resetIdentity(phone, 1);
    await gk.admin.send(phone, { to: alice.local.uri, text: "reinstalled" });
    await eventually(() => bridge.textsFrom(bob), (t) => t.includes("reinstalled"), 10_000, "the message under the new identity");
    assert.equal(await s.mustReverify(userId, bob), true, "seen, not yet told");
    const news = await s.identityNews(userId, bob);
    assert.equal(news[0]?.wasVerified, true);
    await s.identityNewsTold(userId, bob, news);
    assert.equal(await s.mustReverify(userId, bob), true, "told, not yet verified");
    assert.equal(await safety("block_until_verified").mustReverify(userId, bob), true, "across a restart");
    assert.equal(await safety("warn").mustReverify(userId, bob), false, "warn never holds");

    assert.equal((await s.verify(userId, bob)).ok, true);
    assert.equal(await s.mustReverify(userId, bob), false);
  });

  it("blocks through the gatekeeper and remembers them for the portal check", async () => {
    const { userId, bob } = await chat("blk1");
    const s = safety();
    assert.equal(await s.isBlocked(userId, bob), false);
    await s.block(userId, bob);
    assert.equal(await s.isBlocked(userId, bob), true);
    assert.deepEqual(await safety().blocked(userId), [bob], "the gatekeeper keeps it, not the module");
    assert.equal(await safety().isBlocked(userId, bob), true);
    await s.unblock(userId, bob);
    assert.equal(await s.isBlocked(userId, bob), false);
  });
});
