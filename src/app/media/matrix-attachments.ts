// Matrix encrypted attachments (client-server spec, "Sending encrypted attachments"): the file is encrypted with
// AES-256-CTR under a fresh key and a 128-bit counter block whose low 64 bits start at zero, uploaded as opaque bytes,
// and described by the `file` object (JWK key, IV, SHA-256 of the ciphertext) inside the encrypted event.
//
// CTR mode is not authenticated: the SHA-256 in the event is all that proves the download is the file that was sent.
// So decryption parks the ciphertext in a Spool (memory, then a private temporary file: only ciphertext touches the
// disk), checks the hash once everything has arrived, and only then decrypts and releases plaintext - the same
// "verify before release" rule as the WhatsApp-style media decryptor in src/protocol/media-crypto.ts.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { z } from "zod";
import { Spool, type SpoolOptions } from "../../protocol/spool.js";

/** The `file` object of m.room.message content in encrypted rooms (and `thumbnail_file` in its info). */
export interface EncryptedFile {
  url: string;
  key: { kty: "oct"; key_ops: string[]; alg: "A256CTR"; k: string; ext: true };
  iv: string;
  hashes: { sha256: string; [other: string]: string };
  v: "v2";
}

/** What the encryptor knows before the ciphertext has an mxc URI. */
export type EncryptedFileKeys = Omit<EncryptedFile, "url">;

/** The download does not match the hash in its `file` object; no plaintext of it has been or will be released. */
export class AttachmentIntegrityError extends Error {
  override readonly name = "AttachmentIntegrityError";
  constructor() {
    super("the encrypted attachment does not match its SHA-256 hash");
  }
}

/** A `file` object this bridge cannot use (from an event: untrusted). */
export class InvalidEncryptedFileError extends Error {
  override readonly name = "InvalidEncryptedFileError";
}

const KEY_BYTES = 32;
const IV_BYTES = 16;
const SHA256_BYTES = 32;

// Unpadded base64 is what the spec asks for; padded and URL-safe spellings are accepted because clients differ.
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]+={0,2}$/, "not base64");

const encryptedFileSchema = z.looseObject({
  url: z.string().regex(/^mxc:\/\/[^/]+\/[^/]+$/, "not an mxc:// URI"),
  key: z.looseObject({
    kty: z.literal("oct"),
    key_ops: z.array(z.string()).refine((ops) => ops.includes("decrypt"), "key_ops must include decrypt"),
    alg: z.literal("A256CTR"),
    k: base64,
    ext: z.literal(true),
  }),
  iv: base64,
  hashes: z.looseObject({ sha256: base64 }),
  v: z.literal("v2"),
});

function decodeBase64(text: string, bytes: number, field: string): Buffer {
  const decoded = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (decoded.length !== bytes) throw new InvalidEncryptedFileError(`file.${field} must encode ${bytes} bytes, got ${decoded.length}`);
  return decoded;
}

const unpadded = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");

/** Validates a `file` object from an event; throws InvalidEncryptedFileError saying what is wrong. */
export function parseEncryptedFile(value: unknown): EncryptedFile {
  const parsed = encryptedFileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidEncryptedFileError(`file${issue.path.map((p) => `.${String(p)}`).join("")}: ${issue.message}`);
  }
  const file = parsed.data as EncryptedFile;
  decodeBase64(file.key.k, KEY_BYTES, "key.k");
  decodeBase64(file.iv, IV_BYTES, "iv");
  decodeBase64(file.hashes.sha256, SHA256_BYTES, "hashes.sha256");
  return file;
}

function newKeyAndIv(): { key: Buffer; iv: Buffer } {
  const iv = Buffer.alloc(IV_BYTES);
  // The spec leaves the low 64 bits (the block counter) at zero, so a file may be 2^64 blocks long without the
  // counter wrapping into the random half; some clients rely on that layout.
  randomBytes(8).copy(iv, 0);
  return { key: randomBytes(KEY_BYTES), iv };
}

function keysOf(key: Buffer, iv: Buffer, sha256: Uint8Array): EncryptedFileKeys {
  return {
    key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true },
    iv: unpadded(iv),
    hashes: { sha256: unpadded(sha256) },
    v: "v2",
  };
}

/**
 * Transform: plaintext in, ciphertext out (the same length: CTR mode). `result` resolves with the `file` object
 * (without `url`) once the stream has flushed, and rejects if it is destroyed first.
 */
export class AttachmentEncryptor extends Transform {
  readonly result: Promise<EncryptedFileKeys>;
  private readonly cipher;
  private readonly hash: Hash = createHash("sha256");
  private settle!: { resolve: (k: EncryptedFileKeys) => void; reject: (e: Error) => void; done: boolean };
  private readonly key: Buffer;
  private readonly iv: Buffer;

  constructor() {
    super();
    const { key, iv } = newKeyAndIv();
    this.key = key;
    this.iv = iv;
    this.cipher = createCipheriv("aes-256-ctr", key, iv);
    this.result = new Promise((resolve, reject) => {
      this.settle = { resolve, reject, done: false };
    });
    this.result.catch(() => undefined);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out = this.cipher.update(chunk);
    this.hash.update(out);
    callback(null, out);
  }

  override _flush(callback: TransformCallback): void {
    const last = this.cipher.final();
    if (last.length > 0) {
      this.hash.update(last);
      this.push(last);
    }
    this.settle.done = true;
    this.settle.resolve(keysOf(this.key, this.iv, this.hash.digest()));
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settle.done) {
      this.settle.done = true;
      this.settle.reject(error ?? new Error("attachment encryptor destroyed before the end of its input"));
    }
    callback(error);
  }
}

/** Encrypts a small attachment held in memory (thumbnails, tests). */
export function encryptAttachment(plaintext: Uint8Array): { ciphertext: Buffer; keys: EncryptedFileKeys } {
  const { key, iv } = newKeyAndIv();
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, keys: keysOf(key, iv, createHash("sha256").update(ciphertext).digest()) };
}

/**
 * Async-generator transform for `stream.pipeline` or `for await`: ciphertext in, plaintext out, nothing released
 * before the whole download matched `file.hashes.sha256`. Throws AttachmentIntegrityError otherwise.
 */
export function decryptAttachmentChunks(file: EncryptedFile, spoolOptions: SpoolOptions = {}): (source: AsyncIterable<Uint8Array | string>) => AsyncGenerator<Buffer> {
  const key = decodeBase64(file.key.k, KEY_BYTES, "key.k");
  const iv = decodeBase64(file.iv, IV_BYTES, "iv");
  const expected = decodeBase64(file.hashes.sha256, SHA256_BYTES, "hashes.sha256");
  return async function* decrypt(source) {
    const spool = new Spool(spoolOptions);
    try {
      const hash = createHash("sha256");
      for await (const chunk of source) {
        if (typeof chunk === "string") throw new TypeError("attachment decryptor: expected bytes, got a string");
        hash.update(chunk);
        await spool.write(chunk);
      }
      if (!timingSafeEqual(hash.digest(), expected)) throw new AttachmentIntegrityError();
      await spool.finish();
      // Second pass over the verified ciphertext, hashed again in case the spool file changed underneath us.
      const recheck = createHash("sha256");
      const decipher = createDecipheriv("aes-256-ctr", key, iv);
      for await (const ciphertext of spool.read()) {
        recheck.update(ciphertext);
        const plaintext = decipher.update(ciphertext);
        if (plaintext.length > 0) yield plaintext;
      }
      if (!timingSafeEqual(recheck.digest(), expected)) throw new AttachmentIntegrityError();
      const last = decipher.final();
      if (last.length > 0) yield last;
    } finally {
      await spool.dispose();
    }
  };
}

/** Verifies and decrypts a small attachment held in memory. */
export function decryptAttachment(ciphertext: Uint8Array, file: EncryptedFile): Buffer {
  const key = decodeBase64(file.key.k, KEY_BYTES, "key.k");
  const iv = decodeBase64(file.iv, IV_BYTES, "iv");
  const expected = decodeBase64(file.hashes.sha256, SHA256_BYTES, "hashes.sha256");
  if (!timingSafeEqual(createHash("sha256").update(ciphertext).digest(), expected)) throw new AttachmentIntegrityError();
  const decipher = createDecipheriv("aes-256-ctr", key, iv);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}
