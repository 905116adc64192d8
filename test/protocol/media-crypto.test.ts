import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  createMediaDecryptor,
  createMediaEncryptor,
  decryptMedia,
  decryptMediaChunks,
  encryptMedia,
  MEDIA_KINDS,
  MediaIntegrityError,
  type MediaIntegrityReason,
  type MediaKind,
  type MediaVerification,
} from "../../src/protocol/media-crypto.js";
import { ProtocolError } from "../../src/protocol/errors.js";

const integrity = (reason?: MediaIntegrityReason) => (e: unknown) =>
  e instanceof MediaIntegrityError && (reason === undefined || e.reason === reason);

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

/** Cuts `data` into chunks of random sizes (1 byte .. 200 KiB), as a network would. */
function* randomChunks(data: Uint8Array): Generator<Buffer> {
  let at = 0;
  while (at < data.length) {
    const size = 1 + Math.floor(Math.random() ** 3 * 200 * 1024);
    yield Buffer.from(data.subarray(at, at + size));
    at += size;
  }
}

async function collect(stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array>) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function verification(e: ReturnType<typeof encryptMedia>): MediaVerification {
  return { mediaKey: e.mediaKey, fileSha256: e.fileSha256, fileEncSha256: e.fileEncSha256, fileLength: e.fileLength };
}

describe("media crypto (buffers)", () => {
  for (const kind of MEDIA_KINDS) {
    it(`round-trips ${kind} files of awkward sizes`, () => {
      for (const size of [0, 1, 15, 16, 17, 31, 32, 33, 1000]) {
        const plaintext = randomBytes(size);
        const e = encryptMedia(plaintext, kind);
        assert.equal(e.upload.length, (Math.floor(size / 16) + 1) * 16 + 10);
        assert.equal(e.fileLength, size);
        assert.deepEqual(Buffer.from(e.fileSha256), sha256(plaintext));
        assert.deepEqual(Buffer.from(e.fileEncSha256), sha256(e.upload));
        assert.deepEqual(Buffer.from(decryptMedia(e.upload, kind, verification(e))), plaintext);
      }
    });
  }

  it("uses a fresh random key unless one is given", () => {
    const a = encryptMedia(Buffer.from("same"), "image");
    const b = encryptMedia(Buffer.from("same"), "image");
    assert.notDeepEqual(a.mediaKey, b.mediaKey);
    assert.notDeepEqual(a.upload, b.upload);
    const key = new Uint8Array(32).fill(9);
    assert.deepEqual(encryptMedia(Buffer.from("same"), "image", key).upload, encryptMedia(Buffer.from("same"), "image", key).upload);
  });

  it("rejects any single flipped bit anywhere in the upload", () => {
    const e = encryptMedia(randomBytes(100), "document");
    for (let i = 0; i < e.upload.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const tampered = Buffer.from(e.upload);
        tampered[i]! ^= bit;
        assert.throws(() => decryptMedia(tampered, "document", verification(e)), integrity("enc_hash"), `byte ${i}`);
      }
    }
  });

  it("rejects a tampered upload by its MAC even when the attacker also fixes fileEncSha256", () => {
    const e = encryptMedia(randomBytes(100), "video");
    for (const i of [0, 15, 16, 50, e.upload.length - 11, e.upload.length - 10, e.upload.length - 1]) {
      const tampered = Buffer.from(e.upload);
      tampered[i]! ^= 0x10;
      assert.throws(() => decryptMedia(tampered, "video", { ...verification(e), fileEncSha256: sha256(tampered) }), integrity("mac"), `byte ${i}`);
    }
  });

  it("rejects the wrong key, the wrong kind, and wrong hashes or length", () => {
    const e = encryptMedia(randomBytes(100), "audio");
    const v = verification(e);
    assert.throws(() => decryptMedia(e.upload, "audio", { ...v, mediaKey: new Uint8Array(32) }), integrity("mac"));
    assert.throws(() => decryptMedia(e.upload, "image", v), integrity("mac"));
    assert.throws(() => decryptMedia(e.upload, "audio", { ...v, fileSha256: sha256(Buffer.from("other")) }), integrity("plain_hash"));
    assert.throws(() => decryptMedia(e.upload, "audio", { ...v, fileLength: 101 }), integrity("length"));
    assert.throws(() => decryptMedia(e.upload, "audio", { ...v, fileLength: 99n }), integrity("length"));
    assert.deepEqual(decryptMedia(e.upload, "audio", { ...v, fileLength: 0 }).length, 100);
  });

  it("rejects uploads that are cut or not whole blocks, even with a matching fileEncSha256", () => {
    const e = encryptMedia(randomBytes(100), "image");
    for (const cut of [0, 5, 10, 25, 26, e.upload.length - 1, e.upload.length - 16]) {
      const short = e.upload.subarray(0, cut);
      assert.throws(() => decryptMedia(short, "image", { ...verification(e), fileEncSha256: sha256(short) }), integrity(), `cut ${cut}`);
    }
    const short = e.upload.subarray(0, 20);
    assert.throws(() => decryptMedia(short, "image", { ...verification(e), fileEncSha256: sha256(short) }), integrity("malformed"));
  });

  it("rejects bad arguments with ProtocolError", () => {
    const e = encryptMedia(Buffer.from("x"), "image");
    const bad = (e: unknown) => e instanceof ProtocolError && e.code === "invalid_field";
    assert.throws(() => encryptMedia(Buffer.from("x"), "image", new Uint8Array(16)), bad);
    assert.throws(() => encryptMedia(Buffer.from("x"), "sticker" as MediaKind), bad);
    assert.throws(() => decryptMedia(e.upload, "image", { ...verification(e), fileSha256: new Uint8Array(5) }), bad);
    assert.throws(() => createMediaDecryptor("image", { ...verification(e), mediaKey: new Uint8Array(5) }), bad);
  });
});

describe("media crypto (streams)", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "mdb-media-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const size = 6 * 1024 * 1024 + 7;

  it("encrypts a multi-megabyte stream to exactly what the buffer version produces", async () => {
    const plaintext = randomBytes(size);
    const key = randomBytes(32);
    const encryptor = createMediaEncryptor("video", key);
    const [upload, digest] = await Promise.all([collect(Readable.from(randomChunks(plaintext)).pipe(encryptor)), encryptor.result]);
    const expected = encryptMedia(plaintext, "video", key);
    assert.ok(upload.equals(expected.upload));
    assert.deepEqual(Buffer.from(digest.fileSha256), Buffer.from(expected.fileSha256));
    assert.deepEqual(Buffer.from(digest.fileEncSha256), Buffer.from(expected.fileEncSha256));
    assert.equal(digest.fileLength, size);
  });

  for (const [label, memoryLimit, expectSpill] of [
    ["in memory", 64 * 1024 * 1024, false],
    ["spilled to a temp file", 256 * 1024, true],
  ] as const) {
    it(`decrypts a multi-megabyte stream ${label}, matching the buffer version, and cleans up`, async () => {
      const plaintext = randomBytes(size);
      const e = encryptMedia(plaintext, "document");
      let sawFile = false;
      const source = Readable.from(
        (async function* () {
          for (const chunk of randomChunks(e.upload)) {
            yield chunk;
            if ((await readdir(dir)).length > 0) sawFile = true;
          }
        })(),
      );
      const out = await collect(source.pipe(createMediaDecryptor("document", verification(e), { memoryLimit, dir })));
      assert.ok(out.equals(plaintext));
      assert.equal(sawFile, expectSpill);
      assert.deepEqual(await readdir(dir), []);
    });
  }

  it("emits nothing from a tampered stream, fails with MediaIntegrityError, and cleans up", async () => {
    const plaintext = randomBytes(3 * 1024 * 1024);
    const e = encryptMedia(plaintext, "image");
    for (const [position, v] of [
      [100, verification(e)],
      [e.upload.length - 1, verification(e)],
      [2 * 1024 * 1024, verification(e)],
    ] as const) {
      const tampered = Buffer.from(e.upload);
      tampered[position]! ^= 1;
      let emitted = 0;
      await assert.rejects(
        pipeline(
          Readable.from(randomChunks(tampered)),
          createMediaDecryptor("image", v, { memoryLimit: 512 * 1024, dir }),
          new Writable({
            write(chunk: Buffer, _enc, cb) {
              emitted += chunk.length;
              cb();
            },
          }),
        ),
        integrity("enc_hash"),
      );
      assert.equal(emitted, 0);
      assert.deepEqual(await readdir(dir), []);
    }
    // The MAC path, with an attacker who could also fix fileEncSha256.
    const tampered = Buffer.from(e.upload);
    tampered[5000]! ^= 1;
    await assert.rejects(
      collect(Readable.from(randomChunks(tampered)).pipe(createMediaDecryptor("image", { ...verification(e), fileEncSha256: sha256(tampered) }, { dir }))),
      integrity("mac"),
    );
  });

  it("removes the temp file when the consumer gives up early", async () => {
    const plaintext = randomBytes(2 * 1024 * 1024);
    const e = encryptMedia(plaintext, "audio");
    const decryptor = createMediaDecryptor("audio", verification(e), { memoryLimit: 64 * 1024, dir });
    Readable.from(randomChunks(e.upload)).pipe(decryptor);
    for await (const _chunk of decryptor) break; // destroys the stream
    for (let i = 0; i < 50 && (await readdir(dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await readdir(dir), []);
  });

  it("works as an async-generator stage of stream.pipeline", async () => {
    const plaintext = randomBytes(300_000);
    const e = encryptMedia(plaintext, "image");
    const parts: Buffer[] = [];
    await pipeline(Readable.from(randomChunks(e.upload)), decryptMediaChunks("image", verification(e)), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) parts.push(chunk);
    });
    assert.ok(Buffer.concat(parts).equals(plaintext));
  });

  it("rejects the encryptor's result promise when the stream is destroyed", async () => {
    const encryptor = createMediaEncryptor("image");
    encryptor.write(Buffer.from("partial"));
    encryptor.destroy(new Error("aborted"));
    await assert.rejects(encryptor.result, /aborted/);
  });
});
