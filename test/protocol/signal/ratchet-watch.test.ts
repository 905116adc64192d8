// The stale-ratchet tripwire: a session state written back over a newer one encrypts with a counter the recipient
// has already used, and the recipient drops that message as a duplicate without a word. The watch must report it
// (the bridge logs it at warn), and must stay quiet for the ordinary case of a transaction that rolled back before
// its ciphertext could leave.
import assert from "node:assert/strict";
import { SignalMessage } from "@signalapp/libsignal-client";
import type { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import { decryptFrom, encryptTo, onStaleRatchet, SignalError, startSessionFromBundle, type DeviceAddress, type SignalDeviceStore, type StaleRatchet } from "../../../src/protocol/signal/index.js";
import { sendingPosition } from "../../../src/protocol/signal/ratchet-watch.js";
import { KeyDirectory, newDevice, openDb, TempDir, text } from "./helpers.js";

const ALICE: DeviceAddress = { uri: "matrix:u/alice:example.org", deviceId: 1 };
const BOB: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 1 };

describe("stale ratchet watch", () => {
  let dir: TempDir;
  let aliceDb: SqliteEngine;
  let bobDb: SqliteEngine;
  let alice: SignalDeviceStore;
  let bob: SignalDeviceStore;
  let reports: StaleRatchet[];
  let unsubscribe: () => void;

  const send = (message: string) => alice.transact(async (uow) => encryptTo(uow, BOB, text(message)));
  const receive = (wire: { type: "prekey" | "message"; ciphertext: Uint8Array }) => bob.transact(async (uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext));
  const sessionRow = () => aliceDb.get<{ record: Buffer }>("SELECT record FROM signal_sessions WHERE remote_uri = ?", [BOB.uri]);

  beforeEach(async () => {
    dir = new TempDir();
    aliceDb = openDb(dir.file("bridge.db"));
    bobDb = openDb(dir.file("gatekeeper.db"));
    const directory = new KeyDirectory();
    alice = await newDevice(aliceDb, directory, ALICE.uri);
    bob = await newDevice(bobDb, directory, BOB.uri);
    await alice.transact((uow) => startSessionFromBundle(uow, BOB, directory.bundle(BOB.uri, BOB.deviceId)));
    reports = [];
    unsubscribe = onStaleRatchet((s) => reports.push(s));
  });
  afterEach(async () => {
    unsubscribe();
    await aliceDb.close();
    await bobDb.close();
    dir.remove();
  });

  it("reads the chain and counter of the device's own ciphertexts, PreKey and plain", async () => {
    const first = await send("one");
    const second = await send("two");
    assert.equal(first.type, "prekey");
    const p1 = sendingPosition(first.type, first.ciphertext)!;
    const p2 = sendingPosition(second.type, second.ciphertext)!;
    assert.equal(p1.chain, p2.chain);
    assert.equal(p2.counter, p1.counter + 1);
    await receive(first);
    await receive(second);
    // Bob answers: alice's next message is a plain SignalMessage on a new chain.
    const reply = await bob.transact(async (uow) => encryptTo(uow, ALICE, text("hi")));
    await alice.transact(async (uow) => decryptFrom(uow, BOB, reply.type, reply.ciphertext));
    const third = await send("three");
    assert.equal(third.type, "message");
    const p3 = sendingPosition(third.type, third.ciphertext)!;
    assert.notEqual(p3.chain, p1.chain);
    assert.equal(p3.counter, SignalMessage.deserialize(new Uint8Array(third.ciphertext)).counter());
    assert.equal(sendingPosition("message", Uint8Array.of(3, 1, 2)), undefined);
    assert.deepEqual(reports, []);
  });

  it("reports a session state written back over a newer one, and the recipient indeed drops the message", async () => {
    await receive(await send("one"));
    const before = (await sessionRow())!.record;
    await receive(await send("two"));
    // A stale write, as a lost update or a stale cache would make it: the state from before "two" comes back.
    await aliceDb.run("UPDATE signal_sessions SET record = ? WHERE remote_uri = ?", [before, BOB.uri]);
    const again = await send("three");
    assert.equal(reports.length, 1, "one report");
    assert.deepEqual({ local: reports[0]!.local, remote: reports[0]!.remote, counter: reports[0]!.counter, highest: reports[0]!.highest }, { local: ALICE, remote: BOB, counter: 1, highest: 1 });
    await assert.rejects(receive(again), (err: unknown) => err instanceof SignalError && err.code === "duplicate-message");
  });

  it("stays quiet when the commit rolled back with the caller's write (nothing left) and the retry reuses the counter", async () => {
    await receive(await send("one"));
    // The ratchet step commits in the same transaction as the caller's own write (the bridge's outbox row); that
    // write fails, so both roll back and the ciphertext never leaves.
    await assert.rejects(
      alice.transact(
        async (uow) => encryptTo(uow, BOB, text("two, never stored")),
        () => {
          throw new Error("disk full");
        },
      ),
      /disk full/,
    );
    const retry = await send("two");
    assert.deepEqual(reports, []);
    await receive(retry);
  });
});
