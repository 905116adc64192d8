// The crypto engine's local pieces without a homeserver: machines persist in their stores (in the bridge database),
// idle ones are closed and their records leave memory, the store key is checked, encrypted attachments round-trip.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { decryptAttachment, encryptAttachment, AttachmentError } from "../../src/matrix/crypto/attachments.js";
import { detachCryptoStorage, installCryptoStorage, isStoreLoaded } from "../../src/matrix/crypto/indexeddb.js";
import { MachinePool } from "../../src/matrix/crypto/machine-pool.js";
import { loadOrCreateStoreKey, readStoreKey, StoreKeyError } from "../../src/matrix/crypto/store-key.js";
import { newDeviceId, storeNameFor } from "../../src/matrix/crypto/engine.js";
import { openPostgres, openSqlite } from "../../src/store/database.js";
import type { SqlDatabase } from "../../src/sql/sql.js";
import { CryptoRecordTable } from "../../src/store/crypto-records.js";
import { createTestDatabase, needPostgres } from "../harness/postgres.js";

const log = pino({ level: "silent" });

describe("Matrix crypto stores (no homeserver)", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "mdb-crypto-store-"));
  let db: SqlDatabase;
  let records: CryptoRecordTable;
  const key = loadOrCreateStoreKey(join(dir, "store.key"));
  const owner = (i: number) => {
    const userId = `@wa_4930${i}:example.org`;
    return { userId, deviceId: `DMATEST${i}`, storeName: storeNameFor(userId, `DMATEST${i}`) };
  };

  before(async () => {
    db = openSqlite(join(dir, "bridge.db"));
    records = new CryptoRecordTable(db);
    await installCryptoStorage(records);
  });

  after(async () => {
    detachCryptoStorage(records);
    await db.close();
  });

  /** The pool over a record store: identities persist, idle machines leave memory. */
  async function poolRoundTrip(records: CryptoRecordTable, prefix: string): Promise<void> {
    const who = (i: number) => ({ ...owner(i), storeName: `${prefix}${owner(i).storeName}` });
    const pool = new MachinePool({ storeKey: key, maxOpen: 2, log });
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) keys.push(await pool.use(who(i), async (m) => m.identityKeys.ed25519.toBase64()));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.openCount, 2, "only the two most recently used stay open");
    assert.equal(pool.isOpen(who(0).userId), false);
    assert.equal(isStoreLoaded(who(0).storeName), false, "a closed machine's records leave memory");
    assert.equal(isStoreLoaded(who(3).storeName), true);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) assert.equal(await pool.use(who(i), async (m) => m.identityKeys.ed25519.toBase64()), keys[i], "same keys after reopening");
    }
    const names = await records.names();
    for (let i = 0; i < 4; i++) assert.ok(names.includes(`${who(i).storeName}::matrix-sdk-crypto`), "every device's store is in the bridge database");
    await pool.close();
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 4; i++) assert.equal(isStoreLoaded(who(i).storeName), false, "nothing stays in memory after the pool closed");
  }

  it("keeps a machine's identity across close and reopen, and closes idle machines beyond the limit", async function () {
    await poolRoundTrip(records, "");
  });

  it("does the same with the crypto stores on PostgreSQL", async function () {
    await needPostgres(this, "the crypto store on PostgreSQL");
    const pgDb = await openPostgres(await createTestDatabase());
    const pgRecords = new CryptoRecordTable(pgDb);
    try {
      await installCryptoStorage(pgRecords);
      await poolRoundTrip(pgRecords, "pg-");
    } finally {
      detachCryptoStorage(pgRecords);
      await installCryptoStorage(records);
      await pgDb.close();
    }
  });

  it("reloads a machine whose store failed to save, after the operations queued for it", async () => {
    const pool = new MachinePool({ storeKey: key, maxOpen: 4, log });
    const o = owner(7);
    const identity = await pool.use(o, async (m) => m.identityKeys.ed25519.toBase64());
    const queued = pool.use(o, async () => {
      pool.discardStore(o.storeName);
      return pool.isOpen(o.userId);
    });
    assert.equal(await queued, true, "not closed under the running operation");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.isOpen(o.userId), false);
    assert.equal(await pool.use(o, async (m) => m.identityKeys.ed25519.toBase64()), identity, "reloaded from the stored state");
    await pool.close();
  });

  it("serialises operations on one machine", async () => {
    const pool = new MachinePool({ storeKey: key, maxOpen: 4, log });
    const order: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map((tag) =>
        pool.use(owner(9), async () => {
          order.push(`${tag}+`);
          await new Promise((r) => setTimeout(r, 20));
          order.push(`${tag}-`);
        }),
      ),
    );
    assert.deepEqual(order, ["a+", "a-", "b+", "b-", "c+", "c-"]);
    await pool.close();
  });

  it("refuses a store key that others can read or that is damaged", async () => {
    const path = join(dir, "bad.key");
    writeFileSync(path, "matrix-dma-bridge crypto store key v1\nAAAA\n", { mode: 0o600 });
    assert.throws(() => readStoreKey(path), StoreKeyError);
    const good = join(dir, "store.key");
    assert.equal(readStoreKey(good).length, 32);
    chmodSync(good, 0o644);
    assert.throws(() => readStoreKey(good), /readable by other users/);
    chmodSync(good, 0o600);
  });

  it("names devices and stores safely", async () => {
    assert.match(newDeviceId(), /^DMA[A-Z2-9]{10}$/);
    assert.notEqual(newDeviceId(), newDeviceId());
    assert.match(storeNameFor("@someone:example.org", "DMAAAAAAAAAAA"), /^d-[0-9a-f]{24}-DMAAAAAAAAAAA$/);
  });

  it("encrypts attachments and refuses tampered ones", async () => {
    const data = new TextEncoder().encode("a picture, really");
    const { ciphertext, info } = encryptAttachment(data);
    assert.notDeepEqual(ciphertext, data);
    assert.equal(info.key.alg, "A256CTR");
    assert.deepEqual(decryptAttachment(ciphertext, info), data);
    const tampered = new Uint8Array(ciphertext);
    tampered[0]! ^= 1;
    assert.throws(() => decryptAttachment(tampered, info), AttachmentError);
  });
});
