// The crypto engine's local pieces without a homeserver: machines persist in their stores, idle ones are closed and
// their files released, the store key is checked, encrypted attachments round-trip.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initAsync } from "@matrix-org/matrix-sdk-crypto-wasm";
import { pino } from "pino";
import { decryptAttachment, encryptAttachment, AttachmentError } from "../../src/matrix/crypto/attachments.js";
import { installCryptoStorage, openStoreFiles } from "../../src/matrix/crypto/indexeddb.js";
import { MachinePool } from "../../src/matrix/crypto/machine-pool.js";
import { loadOrCreateStoreKey, readStoreKey, StoreKeyError } from "../../src/matrix/crypto/store-key.js";
import { newDeviceId, storeNameFor } from "../../src/matrix/crypto/engine.js";

const log = pino({ level: "silent" });
const fds = () => readdirSync("/proc/self/fd").length;

describe("Matrix crypto stores (no homeserver)", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), "mdb-crypto-store-"));
  const storeDir = join(dir, "stores");
  const key = loadOrCreateStoreKey(join(dir, "store.key"));
  const owner = (i: number) => {
    const userId = `@wa_4930${i}:example.org`;
    return { userId, deviceId: `DMATEST${i}`, storeName: storeNameFor(userId, `DMATEST${i}`) };
  };

  before(async () => {
    // The engine test may have installed the shim already in this process, with its own folder.
    await installCryptoStorage(storeDir).catch(async (err: Error) => {
      if (!/already/.test(err.message)) throw err;
      await initAsync();
    });
  });

  it("keeps a machine's identity across close and reopen, and closes idle machines beyond the limit", async function () {
    const pool = new MachinePool({ storeKey: key, maxOpen: 2, log });
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) keys.push(await pool.use(owner(i), async (m) => m.identityKeys.ed25519.toBase64()));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(pool.openCount, 2, "only the two most recently used stay open");
    assert.equal(pool.isOpen(owner(0).userId), false);
    assert.equal(openStoreFiles(owner(0).storeName), 0, "a closed machine's SQLite files are released");
    const fdsBefore = fds();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) assert.equal(await pool.use(owner(i), async (m) => m.identityKeys.ed25519.toBase64()), keys[i], "same keys after reopening");
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(fds() <= fdsBefore + 2, `file descriptors do not grow with reopening (${fdsBefore} -> ${fds()})`);
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
