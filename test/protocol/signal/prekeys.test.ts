import { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import assert from "node:assert/strict";
import type Database from "better-sqlite3";
import {
  createDeviceKeysUpload,
  decryptFrom,
  deleteSession,
  type DeviceAddress,
  type DeviceKeysUpload,
  deviceKeysUploadSchema,
  encryptTo,
  ensureLocalIdentity,
  refillPreKeys,
  rotateSignedPreKey,
  SignalDeviceStore,
  SignalError,
  startSessionFromBundle,
  withIdentityLock,
} from "../../../src/protocol/signal/index.js";
import { KeyDirectory, newDevice, openDb, str, TempDir, text } from "./helpers.js";

const ALICE: DeviceAddress = { uri: "matrix:u/alice:example.org", deviceId: 1 };
const BOB: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 1 };
const DAY = 24 * 60 * 60 * 1000;

function keyIds(upload: DeviceKeysUpload): { ec: number[]; kyber: number[]; signed: number; lastResort: number } {
  return {
    ec: (upload.oneTimePreKeys ?? []).map((k) => k.keyId),
    kyber: (upload.oneTimeKyberPreKeys ?? []).map((k) => k.keyId),
    signed: upload.signedPreKey.keyId,
    lastResort: upload.kyberLastResortPreKey.keyId,
  };
}

describe("Signal prekeys", () => {
  let dir: TempDir;
  let db: SqliteEngine;
  let clock: number;
  const now = () => clock;

  beforeEach(async () => {
    dir = new TempDir();
    db = openDb(dir.file("keys.db"));
    clock = Date.UTC(2026, 0, 1);
  });

  afterEach(async () => {
    await db.close();
    dir.remove();
  });

  it("creates the identity once and produces a valid initial upload", async () => {
    const store = await ensureLocalIdentity(db, BOB.uri, { deviceId: 3, now });
    const again = await ensureLocalIdentity(db, BOB.uri, { deviceId: 3, now });
    assert.equal(again.localId, store.localId);
    const other = await ensureLocalIdentity(db, BOB.uri, { deviceId: 4, now });
    assert.notEqual(other.localId, store.localId);
    assert.notEqual(await (await other.begin()).getLocalRegistrationId(), 0);

    const upload = await store.transact(async (uow) => createDeviceKeysUpload(uow, { oneTimePreKeys: 7 }));
    deviceKeysUploadSchema.parse(upload);
    assert.equal(upload.deviceId, 3);
    assert.equal(upload.registrationId, await (await store.begin()).getLocalRegistrationId());
    assert.equal(upload.oneTimePreKeys?.length, 7);
    assert.equal(upload.oneTimeKyberPreKeys?.length, 7);
    assert.deepEqual(await store.countOneTimePreKeys(), { preKeys: 7, kyberPreKeys: 7 });
    // The two devices of one user have different identity keys.
    const otherUpload = await other.transact(async (uow) => createDeviceKeysUpload(uow, { oneTimePreKeys: 1 }));
    assert.notEqual(otherUpload.identityKey, upload.identityKey);
  });

  it("never repeats a key ID across refills and rotations, also after a reopen", async () => {
    let store = await ensureLocalIdentity(db, BOB.uri, { deviceId: 1, now });
    const seen = { ec: new Set<number>(), kyber: new Set<number>(), signed: new Set<number>() };
    const record = (u: DeviceKeysUpload, expectFreshSigned: boolean) => {
      const ids = keyIds(u);
      for (const id of ids.ec) {
        assert.ok(!seen.ec.has(id), `EC prekey ID ${id} repeated`);
        seen.ec.add(id);
      }
      for (const id of ids.kyber) {
        assert.ok(!seen.kyber.has(id), `Kyber prekey ID ${id} repeated`);
        seen.kyber.add(id);
      }
      if (expectFreshSigned) {
        assert.ok(!seen.signed.has(ids.signed));
        assert.ok(!seen.kyber.has(ids.lastResort), "last-resort key shares the Kyber ID space");
        seen.signed.add(ids.signed);
        seen.kyber.add(ids.lastResort);
      }
    };
    record(await store.transact(async (uow) => createDeviceKeysUpload(uow, { oneTimePreKeys: 10 })), true);
    record(await store.transact(async (uow) => refillPreKeys(uow, 5)), false);
    // An uncommitted refill reserves nothing: its IDs may come again, but they were never uploaded.
    const lost = await store.begin();
    await refillPreKeys(lost, 3);
    lost.discard();
    clock += 8 * DAY;
    record((await store.transact(async (uow) => rotateSignedPreKey(uow, 7 * DAY)))!, true);
    await db.close();
    db = openDb(dir.file("keys.db"));
    store = await SignalDeviceStore.open(db, BOB, { now });
    record(await store.transact(async (uow) => refillPreKeys(uow, { oneTimePreKeys: 4, oneTimeKyberPreKeys: 2 })), false);
    assert.equal(seen.ec.size, 19);
    assert.equal(seen.kyber.size, 10 + 5 + 2 + 2);
  });

  it("rotates the signed and last-resort prekeys when due and keeps the old ones for the grace period", async () => {
    const directory = new KeyDirectory();
    const bob = await newDevice(db, directory, BOB.uri, 1, 0, { now });
    const aliceDb = openDb(dir.file("alice.db"));
    try {
      const alice = await newDevice(aliceDb, directory, ALICE.uri, 1, 1, { now });
      const oldBundle = directory.bundle(BOB.uri, 1);

      assert.equal(await bob.transact(async (uow) => rotateSignedPreKey(uow, 7 * DAY)), null, "fresh keys stay");
      clock += 7 * DAY;
      const rotated = await bob.transact(async (uow) => rotateSignedPreKey(uow, 7 * DAY, { graceMs: 3 * DAY }));
      assert.ok(rotated);
      assert.notEqual(rotated.signedPreKey.keyId, oldBundle.signedPreKey.keyId);
      assert.notEqual(rotated.kyberLastResortPreKey.keyId, oldBundle.kyberPreKey.keyId);
      assert.equal(rotated.oneTimePreKeys, undefined, "rotation leaves the server's one-time keys alone");
      directory.upload(BOB.uri, rotated);

      // A PreKey message built from the old bundle (in flight during the rotation) still decrypts.
      const inFlight = await alice.transact(async (uow) => {
        await startSessionFromBundle(uow, BOB, oldBundle);
        return encryptTo(uow, BOB, text("sent before rotation"));
      });
      const got = await bob.transact((uow) => decryptFrom(uow, ALICE, inFlight.type, inFlight.ciphertext));
      assert.equal(str(got.plaintext), "sent before rotation");

      // After the grace period the next rotation check deletes the old keys, and an old-bundle message fails.
      clock += 3 * DAY;
      assert.equal(await bob.transact(async (uow) => rotateSignedPreKey(uow, 7 * DAY, { graceMs: 3 * DAY })), null);
      const late = await alice.transact(async (uow) => {
        await startSessionFromBundle(uow, BOB, oldBundle);
        return encryptTo(uow, BOB, text("too late"));
      });
      await bob.transact(async (uow) => deleteSession(uow, ALICE));
      await assert.rejects(
        bob.transact((uow) => decryptFrom(uow, ALICE, late.type, late.ciphertext)),
        (err: unknown) => err instanceof SignalError && err.code === "unknown-prekey",
      );

      // The new keys work.
      const fresh = await alice.transact(async (uow) => {
        await startSessionFromBundle(uow, BOB, directory.bundle(BOB.uri, 1));
        return encryptTo(uow, BOB, text("after rotation"));
      });
      const ok = await bob.transact((uow) => decryptFrom(uow, ALICE, fresh.type, fresh.ciphertext));
      assert.equal(str(ok.plaintext), "after rotation");
    } finally {
      await aliceDb.close();
    }
  });

  it("refuses a replayed PreKey message on a last-resort Kyber prekey even after the session is gone", async () => {
    const directory = new KeyDirectory();
    const bob = await newDevice(db, directory, BOB.uri, 1, 0, { now });
    const aliceDb = openDb(dir.file("alice.db"));
    try {
      const alice = await newDevice(aliceDb, directory, ALICE.uri, 1, 1, { now });
      const wire = await alice.transact(async (uow) => {
        await startSessionFromBundle(uow, BOB, directory.bundle(BOB.uri, 1));
        return encryptTo(uow, BOB, text("once"));
      });
      await bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext));
      await bob.transact(async (uow) => deleteSession(uow, ALICE));
      await assert.rejects(
        bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext)),
        (err: unknown) => err instanceof SignalError && err.code === "replayed-prekey-message",
      );
    } finally {
      await aliceDb.close();
    }
  });

  it("rejects bad counts", async () => {
    const store = await ensureLocalIdentity(db, BOB.uri, { deviceId: 1, now });
    const uow = await store.begin();
    await assert.rejects(async () => refillPreKeys(uow, -1), (e: unknown) => e instanceof SignalError && e.code === "invalid-argument");
    await assert.rejects(async () => refillPreKeys(uow, 1.5), (e: unknown) => e instanceof SignalError && e.code === "invalid-argument");
    await assert.rejects(async () => refillPreKeys(uow, 100_000), (e: unknown) => e instanceof SignalError && e.code === "invalid-argument");
    await assert.rejects(async () => ensureLocalIdentity(db, BOB.uri, { deviceId: 200 }),
      (e: unknown) => e instanceof SignalError && e.code === "invalid-argument",
    );
    await uow.commit();
    await assert.rejects(async () => refillPreKeys(uow, 1), (e: unknown) => e instanceof SignalError && e.code === "invalid-argument");
  });
});

describe("withIdentityLock", () => {
  it("runs operations of one device one after another, and of different devices side by side", async () => {
    const log: string[] = [];
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const op = (device: DeviceAddress, name: string, ms: number) =>
      withIdentityLock(device, async () => {
        log.push(`start ${name}`);
        await sleep(ms);
        log.push(`end ${name}`);
        if (name === "a2") throw new Error("a2 failed");
        return name;
      });
    const results = await Promise.allSettled([op(ALICE, "a1", 30), op(ALICE, "a2", 5), op(BOB, "b1", 5), op(ALICE, "a3", 1)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled", "fulfilled"],
    );
    // a1, a2, a3 never overlap (a failure releases the lock); b1 ran while a1 was still running.
    const aOnly = log.filter((l) => l.includes(" a"));
    assert.deepEqual(aOnly, ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]);
    assert.ok(log.indexOf("end b1") < log.indexOf("end a1"));
  });
});
