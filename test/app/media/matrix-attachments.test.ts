// Matrix encrypted attachments, checked against WebCrypto (AES-CTR with a 64-bit counter, as Element encrypts) so
// the bridge's streaming implementation is compared with an independent one, not with itself.
import assert from "node:assert/strict";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AttachmentEncryptor,
  AttachmentIntegrityError,
  decryptAttachment,
  decryptAttachmentChunks,
  encryptAttachment,
  InvalidEncryptedFileError,
  parseEncryptedFile,
  type EncryptedFile,
} from "../../../src/app/media/matrix-attachments.js";

const subtle = webcrypto.subtle;
const unpadded = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");

/** Encrypts like a Matrix web client: WebCrypto AES-CTR, 64-bit counter, JWK key. */
async function clientEncrypt(plaintext: Uint8Array): Promise<{ ciphertext: Buffer; file: EncryptedFile }> {
  const iv = new Uint8Array(16);
  webcrypto.getRandomValues(iv.subarray(0, 8));
  const key = await subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
  const jwk = await subtle.exportKey("jwk", key);
  const ciphertext = Buffer.from(await subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plaintext));
  const hash = createHash("sha256").update(ciphertext).digest();
  const file: EncryptedFile = {
    url: "mxc://example.org/abc",
    key: { kty: "oct", key_ops: jwk.key_ops!, alg: "A256CTR", k: jwk.k!, ext: true },
    iv: unpadded(iv),
    hashes: { sha256: unpadded(hash) },
    v: "v2",
  };
  return { ciphertext, file };
}

async function clientDecrypt(ciphertext: Uint8Array, file: EncryptedFile): Promise<Buffer> {
  assert.equal(unpadded(createHash("sha256").update(ciphertext).digest()), file.hashes.sha256, "the hash in the file object is of the ciphertext");
  const key = await subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, ["decrypt"]);
  const iv = Buffer.from(file.iv, "base64");
  return Buffer.from(await subtle.decrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, ciphertext));
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

function chunked(bytes: Uint8Array, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(Buffer.from(bytes.subarray(i, i + size)));
  return Readable.from(parts);
}

describe("Matrix encrypted attachments", () => {
  it("streams an encryption that a WebCrypto client decrypts, with a spec-shaped file object", async () => {
    const plaintext = randomBytes(1_000_003);
    const encryptor = new AttachmentEncryptor();
    const out: Buffer[] = [];
    encryptor.on("data", (c: Buffer) => out.push(c));
    await pipeline(chunked(plaintext, 65_537), encryptor);
    const ciphertext = Buffer.concat(out);
    const keys = await encryptor.result;
    assert.equal(ciphertext.length, plaintext.length, "CTR keeps the length");
    assert.notDeepEqual(ciphertext.subarray(0, 32), plaintext.subarray(0, 32));
    assert.equal(keys.v, "v2");
    assert.deepEqual(keys.key.key_ops, ["encrypt", "decrypt"]);
    assert.equal(keys.key.alg, "A256CTR");
    assert.equal(keys.key.kty, "oct");
    assert.equal(keys.key.ext, true);
    assert.doesNotMatch(keys.iv + keys.hashes.sha256, /=/, "unpadded base64");
    const iv = Buffer.from(keys.iv, "base64");
    assert.equal(iv.length, 16);
    assert.deepEqual(iv.subarray(8), Buffer.alloc(8), "the counter half of the IV starts at zero");
    const file = { ...keys, url: "mxc://example.org/x" };
    assert.deepEqual(await clientDecrypt(ciphertext, file), plaintext);
    assert.deepEqual(parseEncryptedFile(file), file);
  });

  it("decrypts, streaming, what a WebCrypto client encrypted (padded and URL-safe spellings too)", async () => {
    const plaintext = randomBytes(300_000);
    const { ciphertext, file } = await clientEncrypt(plaintext);
    assert.deepEqual(await collect(decryptAttachmentChunks(parseEncryptedFile(file))(chunked(ciphertext, 1000))), plaintext);
    const respelled = { ...file, iv: Buffer.from(file.iv, "base64").toString("base64"), hashes: { sha256: Buffer.from(file.hashes.sha256, "base64").toString("base64url") } };
    assert.deepEqual(decryptAttachment(ciphertext, parseEncryptedFile(respelled)), plaintext);
  });

  it("releases nothing of a tampered download, however it is chunked", async () => {
    const plaintext = randomBytes(50_000);
    const { ciphertext, file } = await clientEncrypt(plaintext);
    for (const at of [0, 25_000, ciphertext.length - 1]) {
      const bad = Buffer.from(ciphertext);
      bad[at]! ^= 1;
      const released: Buffer[] = [];
      await assert.rejects(async () => {
        for await (const c of decryptAttachmentChunks(file)(chunked(bad, 4096))) released.push(c);
      }, AttachmentIntegrityError);
      assert.equal(released.length, 0, `nothing released for a flip at ${at}`);
      assert.throws(() => decryptAttachment(bad, file), AttachmentIntegrityError);
    }
    // A truncated download is as wrong as a changed one.
    await assert.rejects(collect(decryptAttachmentChunks(file)(chunked(ciphertext.subarray(0, 1000), 100))), AttachmentIntegrityError);
  });

  it("spools large downloads to a private temporary file and removes it afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mdb-attach-"));
    const plaintext = randomBytes(3 * 1024 * 1024);
    const { ciphertext, keys } = encryptAttachment(plaintext);
    const file = { ...keys, url: "mxc://a/b" };
    let spilled = false;
    const source = (async function* () {
      for await (const chunk of chunked(ciphertext, 256 * 1024)) {
        yield chunk as Buffer;
        spilled ||= readdirSync(dir).length > 0;
      }
    })();
    const out = await collect(decryptAttachmentChunks(file, { memoryLimit: 64 * 1024, dir })(source));
    assert.deepEqual(out, plaintext);
    assert.ok(spilled, "the ciphertext went to a temporary file while it was verified");
    assert.deepEqual(readdirSync(dir), [], "the spool is gone");
    assert.deepEqual(await clientDecrypt(ciphertext, file), plaintext);
  });

  it("refuses file objects it cannot use, saying why", () => {
    const good = { ...encryptAttachment(Buffer.from("x")).keys, url: "mxc://example.org/abc" };
    const cases: [unknown, RegExp][] = [
      [{ ...good, v: "v1" }, /file\.v/],
      [{ ...good, key: { ...good.key, alg: "A128CTR" } }, /file\.key\.alg/],
      [{ ...good, key: { ...good.key, key_ops: ["encrypt"] } }, /key_ops must include decrypt/],
      [{ ...good, key: { ...good.key, k: "AAAA" } }, /key\.k must encode 32 bytes, got 3/],
      [{ ...good, iv: "AAAA" }, /file\.iv must encode 16 bytes/],
      [{ ...good, hashes: {} }, /file\.hashes\.sha256/],
      [{ ...good, hashes: { sha256: "***" } }, /not base64/],
      [{ ...good, url: "https://example.org/abc" }, /file\.url: not an mxc/],
      ["a string", /file/],
    ];
    for (const [value, message] of cases) assert.throws(() => parseEncryptedFile(value), (e: Error) => e instanceof InvalidEncryptedFileError && message.test(e.message), String(message));
  });

  it("rejects a destroyed encryptor's result instead of resolving it", async () => {
    const encryptor = new AttachmentEncryptor();
    encryptor.on("error", () => undefined);
    encryptor.destroy(new Error("upstream failed"));
    await assert.rejects(encryptor.result, /upstream failed/);
  });
});
