// Measures the Signal layer with its SQLite stores (WAL, real files) and prints medians; the assertions only
// guard against pathological regressions (10x the floors measured with in-memory stores).
import { SqliteEngine } from "../../../src/sql/engines/sqlite.js";
import assert from "node:assert/strict";
import type Database from "better-sqlite3";
import {
  decryptFrom,
  type DeviceAddress,
  encryptTo,
  startSessionFromBundle,
} from "../../../src/protocol/signal/index.js";
import { KeyDirectory, newDevice, openDb, TempDir } from "./helpers.js";

const ALICE: DeviceAddress = { uri: "matrix:u/alice:example.org", deviceId: 1 };
const BOB: DeviceAddress = { uri: "tel:+4915112345678", deviceId: 1 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

describe("Signal layer timings", () => {
  let dir: TempDir;
  let aliceDb: SqliteEngine;
  let bobDb: SqliteEngine;

  before(async () => {
    dir = new TempDir();
    aliceDb = openDb(dir.file("a.db"));
    bobDb = openDb(dir.file("b.db"));
    aliceDb.handle.pragma("synchronous = NORMAL");
    bobDb.handle.pragma("synchronous = NORMAL");
  });
  after(async () => {
    await aliceDb.close();
    await bobDb.close();
    dir.remove();
  });

  it("measures session set-up, encrypt and decrypt (each committed to SQLite)", async () => {
    const directory = new KeyDirectory();
    const N = 200;
    const alice = await newDevice(aliceDb, directory, ALICE.uri, 1, 0);
    const bob = await newDevice(bobDb, directory, BOB.uri, 1, N);

    const setup: number[] = [];
    for (let i = 0; i < 30; i++) {
      const bundle = directory.bundle(BOB.uri, 1);
      setup.push(await timed(() => alice.transact((uow) => startSessionFromBundle(uow, BOB, bundle))));
    }
    const body = new Uint8Array(120).fill(7);
    let wire = await alice.transact((uow) => encryptTo(uow, BOB, body));
    const firstDecrypt = await timed(() => bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext)));
    const reply = await bob.transact((uow) => encryptTo(uow, ALICE, body));
    await alice.transact((uow) => decryptFrom(uow, BOB, reply.type, reply.ciphertext));

    const enc: number[] = [];
    const dec: number[] = [];
    const encNoCommit: number[] = [];
    for (let i = 0; i < N; i++) {
      encNoCommit.push(await timed(async () => encryptTo(await alice.begin(), BOB, body)));
      enc.push(await timed(async () => (wire = await alice.transact((uow) => encryptTo(uow, BOB, body)))));
      dec.push(await timed(() => bob.transact((uow) => decryptFrom(uow, ALICE, wire.type, wire.ciphertext))));
    }
    const report = {
      sessionSetupMs: median(setup),
      firstPreKeyDecryptMs: firstDecrypt,
      encryptCommittedMs: median(enc),
      encryptUncommittedMs: median(encNoCommit),
      decryptCommittedMs: median(dec),
    };
    console.log("      signal timings (median ms):", JSON.stringify(report));
    assert.ok(report.sessionSetupMs < 34, "session set-up within 10x the in-memory floor");
    assert.ok(report.encryptCommittedMs < 10 && report.decryptCommittedMs < 10);
  });
});
