// Upgrading from a bridge that kept each device's crypto store in its own SQLite files (indexeddbshim): the stores
// are imported into the bridge database once, the devices keep their identity and cross-signing keys, and the old
// files are moved aside.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DeviceId, OlmMachine, StoreHandle, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import { pino } from "pino";
import { detachCryptoStorage, installCryptoStorage } from "../../src/matrix/crypto/indexeddb.js";
import { importLegacyStores, legacyStoreFiles } from "../../src/matrix/crypto/legacy-import.js";
import { openSqlite } from "../../src/store/database.js";
import { CryptoRecordTable } from "../../src/store/crypto-records.js";

const MAKER = fileURLToPath(new URL("./crypto-legacy-maker.js", import.meta.url));

describe("crypto stores of an older bridge (indexeddbshim files)", function () {
  this.timeout(60_000);

  it("imports them once into the bridge database with the same keys, and moves the files aside", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mdb-legacy-"));
    const folder = join(dir, "matrix-crypto");
    const devices = [
      { storeName: "d-0001-DMAOLDONE", userId: "@wa_491511:example.org", deviceId: "DMAOLDONE" },
      { storeName: "d-0002-DMAOLDTWO", userId: "@wa_491512:example.org", deviceId: "DMAOLDTWO" },
    ];
    const made = devices.map((d) => JSON.parse(execFileSync(process.execPath, [MAKER, folder, d.storeName, d.userId, d.deviceId], { encoding: "utf8" })) as { ed25519: string; curve25519: string; crossSigning: boolean });
    assert.ok(legacyStoreFiles(folder).length >= 4, "two files per device");

    const db = openSqlite(join(dir, "bridge.db"));
    const records = new CryptoRecordTable(db);
    const log = pino({ level: "silent" });
    // A device the database names but whose store never existed (it is made anew when first used).
    const storeNames = [...devices.map((d) => d.storeName), "d-0003-DMANEVERMADE"];
    const first = await importLegacyStores({ storeDir: folder, storeNames, records, log });
    assert.deepEqual(first, { imported: 4, failed: [] });
    assert.deepEqual((await records.names()).sort(), devices.flatMap((d) => [`${d.storeName}::matrix-sdk-crypto`, `${d.storeName}::matrix-sdk-crypto-meta`]).sort());
    assert.deepEqual(legacyStoreFiles(folder), [], "the old files are moved aside");
    assert.ok(existsSync(join(folder, "imported")) && readdirSync(join(folder, "imported")).length >= 4);
    assert.deepEqual(await importLegacyStores({ storeDir: folder, storeNames, records, log }), { imported: 0, failed: [] }, "once only");

    await installCryptoStorage(records);
    try {
      for (const [i, d] of devices.entries()) {
        const handle = await StoreHandle.openWithKey(d.storeName, new Uint8Array(32).fill(4));
        const machine = await OlmMachine.initFromStore(new UserId(d.userId), new DeviceId(d.deviceId), handle);
        handle.free();
        assert.equal(machine.identityKeys.ed25519.toBase64(), made[i]!.ed25519, "the same identity key");
        assert.equal(machine.identityKeys.curve25519.toBase64(), made[i]!.curve25519);
        const status = await machine.crossSigningStatus();
        assert.equal(made[i]!.crossSigning, true);
        assert.ok(status.hasMaster && status.hasSelfSigning && status.hasUserSigning, "the private cross-signing keys came along");
        machine.close();
      }
    } finally {
      detachCryptoStorage(records);
      await new Promise((r) => setTimeout(r, 20));
      await db.close();
    }
  });
});
