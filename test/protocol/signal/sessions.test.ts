import { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import assert from "node:assert/strict";
import type Database from "better-sqlite3";
import {
  type CiphertextKind,
  decryptFrom,
  type DeviceAddress,
  encryptTo,
  ensureLocalIdentity,
  getRemoteIdentity,
  hasSession,
  safetyNumber,
  sessionDevices,
  sessionRegistrationId,
  SignalDeviceStore,
  SignalError,
  startSessionFromBundle,
} from "../../../src/protocol/signal/index.js";
import { dumpSignalTables, KeyDirectory, newDevice, openDb, str, TempDir, text } from "./helpers.js";

const ALICE: DeviceAddress = { uri: "matrix:u/alice:example.org", deviceId: 1 };
const BOB: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 1 };
const BOB2: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 2 };
const CAROL: DeviceAddress = { uri: "matrix:u/carol:example.org", deviceId: 1 };

interface Wire {
  type: CiphertextKind;
  ciphertext: Uint8Array;
}

async function send(from: SignalDeviceStore, to: DeviceAddress, message: string): Promise<Wire> {
  return from.transact(async (uow) => {
    const { type, ciphertext } = await encryptTo(uow, to, text(message));
    return { type, ciphertext };
  });
}

async function receive(at: SignalDeviceStore, from: DeviceAddress, wire: Wire) {
  return at.transact(async (uow) => {
    const out = await decryptFrom(uow, from, wire.type, wire.ciphertext);
    return { text: str(out.plaintext), identityChanged: out.identityChanged };
  });
}

async function connect(from: SignalDeviceStore, directory: KeyDirectory, to: DeviceAddress) {
  return from.transact((uow) => startSessionFromBundle(uow, to, directory.bundle(to.uri, to.deviceId)));
}

async function expectSignalError(promise: Promise<unknown>, code: string): Promise<SignalError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SignalError, `expected SignalError(${code}), got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected SignalError(${code}), but the operation succeeded`);
}

describe("Signal sessions (libsignal + SQLite)", () => {
  let dir: TempDir;
  let aliceDb: SqliteEngine;
  let bobDb: SqliteEngine;
  let directory: KeyDirectory;
  let alice: SignalDeviceStore;
  let bob: SignalDeviceStore;

  beforeEach(async () => {
    dir = new TempDir();
    // Separate database files, as the bridge and the gatekeeper's simulated users have.
    aliceDb = openDb(dir.file("bridge.db"));
    bobDb = openDb(dir.file("gatekeeper.db"));
    directory = new KeyDirectory();
    alice = await newDevice(aliceDb, directory, ALICE.uri);
    bob = await newDevice(bobDb, directory, BOB.uri);
  });

  afterEach(async () => {
    await aliceDb.close();
    await bobDb.close();
    dir.remove();
  });

  it("sets up a PQXDH session from a bundle and decrypts the first (PreKey) message", async () => {
    const before = await bob.countOneTimePreKeys();
    const setup = await connect(alice, directory, BOB);
    assert.deepEqual(setup, { identityChanged: false });
    assert.equal(await hasSession(await alice.begin(), BOB), true);

    const first = await send(alice, BOB, "hello bob");
    assert.equal(first.type, "prekey");
    const got = await receive(bob, ALICE, first);
    assert.deepEqual(got, { text: "hello bob", identityChanged: false });

    // The PreKey message consumed exactly one one-time EC prekey and one one-time Kyber prekey.
    assert.deepEqual(await bob.countOneTimePreKeys(), {
      preKeys: before.preKeys - 1,
      kyberPreKeys: before.kyberPreKeys - 1,
    });
    // Both sides now know each other's identity, and compute the same safety number.
    const bobUow = await bob.begin();
    const aliceUow = await alice.begin();
    assert.ok(await getRemoteIdentity(bobUow, ALICE));
    assert.ok(await getRemoteIdentity(aliceUow, BOB));
    const a = (await safetyNumber(aliceUow, BOB))!;
    const b = (await safetyNumber(bobUow, ALICE))!;
    assert.match(a.digits, /^\d{60}$/);
    assert.equal(a.digits, b.digits);
  });

  it("keeps sending PreKey messages until the peer replies, then switches to normal messages", async () => {
    await connect(alice, directory, BOB);
    const m1 = await send(alice, BOB, "one");
    const m2 = await send(alice, BOB, "two");
    assert.equal(m1.type, "prekey");
    assert.equal(m2.type, "prekey");
    assert.equal((await receive(bob, ALICE, m1)).text, "one");
    assert.equal((await receive(bob, ALICE, m2)).text, "two");

    const reply = await send(bob, ALICE, "hi alice");
    assert.equal(reply.type, "message");
    assert.equal((await receive(alice, BOB, reply)).text, "hi alice");

    const m3 = await send(alice, BOB, "three");
    assert.equal(m3.type, "message");
    assert.equal((await receive(bob, ALICE, m3)).text, "three");
  });

  it("exchanges many messages both ways in bursts", async () => {
    await connect(alice, directory, BOB);
    let sent = 0;
    for (let round = 0; round < 20; round++) {
      const [from, fromAddr, to, toAddr] =
        round % 2 === 0 ? [alice, ALICE, bob, BOB] : [bob, BOB, alice, ALICE];
      const burst = 1 + (round % 5);
      const wires: { wire: Wire; body: string }[] = [];
      for (let i = 0; i < burst; i++) {
        const body = `round ${round} message ${i} ${"x".repeat(round * 10)}`;
        wires.push({ wire: await send(from, toAddr, body), body });
      }
      for (const { wire, body } of wires) {
        assert.equal((await receive(to, fromAddr, wire)).text, body);
        sent++;
      }
    }
    assert.equal(sent, 60);
  });

  it("decrypts out-of-order delivery and refuses a redelivered ciphertext as a duplicate", async () => {
    await connect(alice, directory, BOB);
    const hello = await send(alice, BOB, "hello");
    await receive(bob, ALICE, hello);
    await receive(alice, BOB, await send(bob, ALICE, "ack"));

    const wires: Wire[] = [];
    for (let i = 0; i < 10; i++) wires.push(await send(alice, BOB, `m${i}`));
    const order = [7, 2, 9, 0, 5, 1, 8, 3, 6, 4];
    for (const i of order) assert.equal((await receive(bob, ALICE, wires[i]!)).text, `m${i}`);

    await expectSignalError(receive(bob, ALICE, wires[3]!), "duplicate-message");
    await expectSignalError(receive(bob, ALICE, hello), "duplicate-message");
  });

  it("hands out each one-time prekey once: a second session from the same bundle cannot use it", async () => {
    const bundle = directory.bundle(BOB.uri, BOB.deviceId);
    assert.ok(bundle.preKey, "bundle carries a one-time prekey");
    await alice.transact((uow) => startSessionFromBundle(uow, BOB, bundle));
    const first = await send(alice, BOB, "first");
    await receive(bob, ALICE, first);

    // Carol got the very same bundle (a misbehaving key server): Bob already used and deleted its one-time keys.
    const carolDb = openDb(dir.file("carol.db"));
    try {
      const carol = await newDevice(carolDb, directory, CAROL.uri);
      await carol.transact((uow) => startSessionFromBundle(uow, BOB, bundle));
      const stolen = await send(carol, BOB, "reused prekey");
      await expectSignalError(receive(bob, CAROL, stolen), "unknown-prekey");

      // A proper bundle (fresh one-time keys) works.
      await connect(carol, directory, BOB);
      assert.equal((await receive(bob, CAROL, await send(carol, BOB, "fresh"))).text, "fresh");
    } finally {
      await carolDb.close();
    }
  });

  it("falls back to the last-resort Kyber prekey and no one-time EC prekey when they run out", async () => {
    const store = await newDevice(bobDb, directory, BOB2.uri, BOB2.deviceId, 0);
    assert.deepEqual(await store.countOneTimePreKeys(), { preKeys: 0, kyberPreKeys: 0 });
    for (const [name, uri] of [
      ["alice", ALICE.uri],
      ["carol", CAROL.uri],
    ] as const) {
      const db = name === "alice" ? aliceDb : openDb(dir.file("carol.db"));
      const sender = name === "alice" ? alice : await newDevice(db, directory, uri);
      const bundle = directory.bundle(BOB2.uri, BOB2.deviceId);
      assert.equal(bundle.preKey, undefined);
      await sender.transact((uow) => startSessionFromBundle(uow, BOB2, bundle));
      const wire = await send(sender, BOB2, `from ${name}`);
      assert.equal((await receive(store, { uri, deviceId: 1 }, wire)).text, `from ${name}`);
      if (name !== "alice") await db.close();
    }
  });

  it("reports a changed remote identity exactly once, on the operation that first saw it", async () => {
    await connect(alice, directory, BOB);
    await receive(bob, ALICE, await send(alice, BOB, "before"));
    const oldKey = await getRemoteIdentity(await alice.begin(), BOB);

    // Bob reinstalls: same URI and device, new identity, new keys.
    await bobDb.close();
    bobDb = openDb(dir.file("gatekeeper-reinstalled.db"));
    bob = await newDevice(bobDb, directory, BOB.uri);

    // Receiving direction: Bob's new device starts a session with Alice.
    await connect(bob, directory, ALICE);
    const hello = await send(bob, ALICE, "new phone who dis");
    const got = await receive(alice, BOB, hello);
    assert.deepEqual(got, { text: "new phone who dis", identityChanged: true });
    assert.notDeepEqual(await getRemoteIdentity(await alice.begin(), BOB), oldKey);

    const again = await receive(alice, BOB, await send(bob, ALICE, "second"));
    assert.deepEqual(again, { text: "second", identityChanged: false });
    const reply = await send(alice, BOB, "reply");
    assert.equal((await receive(bob, ALICE, reply)).identityChanged, false);
  });

  it("reports the change when a new bundle carries a new identity, and again if that unit of work never committed", async () => {
    await connect(alice, directory, BOB);
    await bobDb.close();
    bobDb = openDb(dir.file("gatekeeper-reinstalled.db"));
    bob = await newDevice(bobDb, directory, BOB.uri);

    // A unit of work that saw the change but crashed before commit: nothing was recorded, so the next one reports it.
    const lost = await alice.begin();
    assert.deepEqual(await startSessionFromBundle(lost, BOB, directory.bundle(BOB.uri, 1)), { identityChanged: true });
    lost.discard();

    assert.deepEqual(await connect(alice, directory, BOB), { identityChanged: true });
    assert.deepEqual(await connect(alice, directory, BOB), { identityChanged: false });
    const wire = await send(alice, BOB, "to the new phone");
    assert.deepEqual(await receive(bob, ALICE, wire), { text: "to the new phone", identityChanged: false });
  });

  it("under the reject-changes policy refuses a changed identity until it is trusted", async () => {
    const strict = await SignalDeviceStore.open(aliceDb, ALICE, { identityPolicy: "reject-changes" });
    await strict.transact((uow) => startSessionFromBundle(uow, BOB, directory.bundle(BOB.uri, 1)));
    await bobDb.close();
    bobDb = openDb(dir.file("gatekeeper-reinstalled.db"));
    bob = await newDevice(bobDb, directory, BOB.uri);
    const bundle = directory.bundle(BOB.uri, 1);
    await expectSignalError(
      strict.transact((uow) => startSessionFromBundle(uow, BOB, bundle)),
      "untrusted-identity",
    );
    const changed = await strict.transact(async (uow) => {
      await uow.trustIdentity(BOB, new Uint8Array(Buffer.from(bundle.identityKey, "base64")));
      return startSessionFromBundle(uow, BOB, bundle);
    });
    assert.deepEqual(changed, { identityChanged: false });
    assert.equal((await receive(bob, ALICE, await send(strict, BOB, "trusted now"))).text, "trusted now");
  });

  it("keeps its state across closing and reopening the database files", async () => {
    await connect(alice, directory, BOB);
    await receive(bob, ALICE, await send(alice, BOB, "one"));
    await receive(alice, BOB, await send(bob, ALICE, "two"));
    const pending = await send(alice, BOB, "in flight while both restart");

    await aliceDb.close();
    await bobDb.close();
    aliceDb = openDb(dir.file("bridge.db"));
    bobDb = openDb(dir.file("gatekeeper.db"));
    alice = await SignalDeviceStore.open(aliceDb, ALICE);
    bob = await SignalDeviceStore.open(bobDb, BOB);

    assert.equal((await receive(bob, ALICE, pending)).text, "in flight while both restart");
    assert.equal((await receive(alice, BOB, await send(bob, ALICE, "three"))).text, "three");
    assert.equal((await send(alice, BOB, "four")).type, "message");
    // Reopening did not create a second identity.
    assert.equal(
      (await ensureLocalIdentity(aliceDb, ALICE.uri, { deviceId: 1 })).localId,
      alice.localId,
    );
  });

  it("leaves no trace of a unit of work that was not committed (simulated crash)", async () => {
    await connect(alice, directory, BOB);
    const aliceBefore = dumpSignalTables(aliceDb);
    const bobBefore = dumpSignalTables(bobDb);

    // Alice encrypts but "crashes" before the outbox transaction.
    const crashed = await alice.begin();
    const lostWire = await encryptTo(crashed, BOB, text("lost"));
    assert.equal(dumpSignalTables(aliceDb), aliceBefore);

    // Same when the caller's own transaction fails after await uow.commit(): both roll back together.
    const uow = await alice.begin();
    const wire = await encryptTo(uow, BOB, text("outbox insert fails"));
    await assert.rejects(
      () =>
        aliceDb.transaction(async () => {
          await uow.commit();
          throw new Error("outbox insert failed");
        }),
      /outbox insert failed/,
    );
    assert.equal(dumpSignalTables(aliceDb), aliceBefore);
    assert.equal(wire.type, "prekey");

    // Bob decrypts but crashes before storing: his one-time prekeys and session are untouched, so the
    // redelivered envelope decrypts again.
    const survivor = await send(alice, BOB, "survivor");
    const bobCrash = await bob.begin();
    await decryptFrom(bobCrash, ALICE, survivor.type, survivor.ciphertext);
    assert.equal(dumpSignalTables(bobDb), bobBefore);
    assert.equal((await receive(bob, ALICE, survivor)).text, "survivor");
    // The never-committed ciphertext of the crashed encrypt used the same chain step; Bob may or may not accept
    // it, but the committed state must not depend on it.
    assert.ok(lostWire.ciphertext.length > 0);
  });

  it("refuses to commit a unit of work whose reads went stale, and serialises concurrent operations", async () => {
    await connect(alice, directory, BOB);
    const a = await alice.begin();
    const b = await alice.begin();
    await encryptTo(a, BOB, text("a"));
    await encryptTo(b, BOB, text("b"));
    await a.commit();
    await assert.rejects(async () => b.commit(), (err: unknown) => err instanceof SignalError && err.code === "concurrent-modification");

    // Twenty concurrent sends through transact() all commit, each on top of the previous one.
    const wires = await Promise.all(Array.from({ length: 20 }, (_, i) => send(alice, BOB, `c${i}`)));
    const texts = [];
    for (const w of wires) texts.push((await receive(bob, ALICE, w)).text);
    assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `c${i}`));
  });

  it("holds independent sessions with two devices of one remote user", async () => {
    const bob2 = await newDevice(bobDb, directory, BOB2.uri, BOB2.deviceId);
    await connect(alice, directory, BOB);
    await connect(alice, directory, BOB2);
    assert.deepEqual(await sessionDevices(await alice.begin(), BOB.uri), [1, 2]);

    const reg1 = await sessionRegistrationId(await alice.begin(), BOB);
    const reg2 = await sessionRegistrationId(await alice.begin(), BOB2);
    assert.equal(reg1, await (await bob.begin()).getLocalRegistrationId());
    assert.equal(reg2, await (await bob2.begin()).getLocalRegistrationId());

    const toPhone = await send(alice, BOB, "to phone");
    const toLaptop = await send(alice, BOB2, "to laptop");
    assert.notDeepEqual(toPhone.ciphertext, toLaptop.ciphertext);
    assert.equal((await receive(bob, ALICE, toPhone)).text, "to phone");
    assert.equal((await receive(bob2, ALICE, toLaptop)).text, "to laptop");
    // A copy meant for one device does not decrypt on the other.
    await assert.rejects(
      receive(bob2, ALICE, toPhone),
      (err: unknown) => err instanceof SignalError && ["invalid-message", "unknown-prekey"].includes(err.code),
    );

    // Each device has its own identity key.
    const uow = await alice.begin();
    assert.notDeepEqual(await getRemoteIdentity(uow, BOB), await getRemoteIdentity(uow, BOB2));
    assert.equal((await receive(alice, BOB2, await send(bob2, ALICE, "from laptop"))).text, "from laptop");
  });

  it("rejects bad input with clear errors", async () => {
    const uow = await alice.begin();
    await expectSignalError(encryptTo(uow, BOB, text("no session yet")), "no-session");
    await expectSignalError(decryptFrom(uow, BOB, "message", text("garbage")), "no-session");
    await expectSignalError(decryptFrom(uow, BOB, "prekey", text("garbage")), "invalid-message");
    await expectSignalError(encryptTo(uow, { uri: BOB.uri, deviceId: 0 }, text("x")), "invalid-argument");
    await expectSignalError(encryptTo(uow, { uri: BOB.uri, deviceId: 128 }, text("x")), "invalid-argument");

    const good = directory.bundle(BOB.uri, 1);
    await expectSignalError(startSessionFromBundle(uow, BOB2, good), "invalid-bundle");
    await expectSignalError(startSessionFromBundle(uow, BOB, { ...good, identityKey: "not base64!" }), "invalid-bundle");
    const flipped = Buffer.from(good.signedPreKey.signature, "base64");
    flipped[10]! ^= 1;
    const forged = { ...good, signedPreKey: { ...good.signedPreKey, signature: flipped.toString("base64") } };
    await expectSignalError(startSessionFromBundle(uow, BOB, forged), "invalid-bundle");
    const kyberFlipped = Buffer.from(good.kyberPreKey.signature, "base64");
    kyberFlipped[3]! ^= 1;
    const forgedKyber = { ...good, kyberPreKey: { ...good.kyberPreKey, signature: kyberFlipped.toString("base64") } };
    await expectSignalError(startSessionFromBundle(uow, BOB, forgedKyber), "invalid-bundle");
    assert.equal(await hasSession(uow, BOB), false);

    // A tampered ciphertext does not authenticate.
    await connect(alice, directory, BOB);
    const wire = await send(alice, BOB, "tamper with me");
    const tampered = new Uint8Array(wire.ciphertext);
    tampered[tampered.length - 12]! ^= 1;
    await expectSignalError(receive(bob, ALICE, { type: wire.type, ciphertext: tampered }), "invalid-message");
    assert.equal((await receive(bob, ALICE, wire)).text, "tamper with me");

    await assert.rejects(async () => SignalDeviceStore.open(aliceDb, CAROL), (err: unknown) => err instanceof SignalError && err.code === "no-local-identity");
  });
});
