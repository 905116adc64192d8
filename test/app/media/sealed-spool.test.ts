// Files of unknown length wait in a sealed spool: on disk only as ciphertext under a key held in memory, 0600, and
// gone afterwards.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SealedSpool } from "../../../src/app/media/sealed-spool.js";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("sealed spool", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "mdb-sealed-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps a large file on disk, 0600 and unreadable, gives it back whole, and deletes it", async () => {
    const marker = Buffer.from("PLAINTEXT-MARKER-".repeat(1000));
    const body = Buffer.concat([marker, randomBytes(300_000), marker]);
    const spool = new SealedSpool({ dir, memoryLimit: 64 * 1024 });
    for (let i = 0; i < body.length; i += 10_000) await spool.write(body.subarray(i, i + 10_000));
    await spool.finish();
    assert.equal(spool.onDisk, true);
    assert.equal(spool.length, body.length);
    const [file] = filesUnder(dir);
    assert.ok(file, "a spool file");
    assert.equal((statSync(file).mode & 0o777).toString(8), "600");
    assert.equal((statSync(join(file, "..")).mode & 0o777).toString(8), "700");
    const onDisk = readFileSync(file);
    assert.equal(onDisk.length, body.length);
    assert.equal(onDisk.includes(Buffer.from("PLAINTEXT-MARKER-")), false, "only ciphertext touches the disk");

    const back: Buffer[] = [];
    for await (const chunk of spool.read()) back.push(chunk);
    assert.ok(Buffer.concat(back).equals(body));
    await spool.dispose();
    assert.deepEqual(readdirSync(dir), []);
  });

  it("keeps a small file in memory only", async () => {
    const spool = new SealedSpool({ dir, memoryLimit: 64 * 1024 });
    await spool.write(Buffer.from("small"));
    await spool.finish();
    assert.equal(spool.onDisk, false);
    assert.deepEqual(readdirSync(dir), []);
    const back: Buffer[] = [];
    for await (const chunk of spool.read()) back.push(chunk);
    assert.equal(Buffer.concat(back).toString(), "small");
    await spool.dispose();
  });

  it("deletes its file when abandoned half-way (dispose before finish)", async () => {
    const spool = new SealedSpool({ dir, memoryLimit: 1024 });
    await spool.write(randomBytes(10_000));
    assert.equal(filesUnder(dir).length, 1);
    await spool.dispose();
    assert.deepEqual(readdirSync(dir), []);
  });
});
