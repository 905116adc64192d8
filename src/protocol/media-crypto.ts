// Media encryption as WhatsApp does it, so media messages carry the same fields with the same meaning:
//   mediaKey (32 random bytes) -> HKDF-SHA256(no salt, info "WhatsApp <Kind> Keys", 112 bytes)
//     -> iv [0,16), cipherKey [16,48), macKey [48,80), refKey [80,112) (unused here)
//   upload = AES-256-CBC(cipherKey, iv, PKCS#7 padded plaintext) || HMAC-SHA256(macKey, iv || ciphertext)[0,10)
//   fileSha256 = SHA-256(plaintext), fileEncSha256 = SHA-256(upload)
//
// Decryption never hands out a byte before every check has passed. The buffer version checks everything first. The
// streaming version (createMediaDecryptor) parks the ciphertext in a Spool (memory, then a private temp file: only
// ciphertext touches the disk), verifies hash, MAC, padding, plaintext hash and length while it arrives, and only
// then decrypts the parked ciphertext a second time and emits plaintext. AES-CBC decryption is cheap next to the
// network, and the alternative (emit early, fail at the end) would push the duty of discarding tampered data onto
// every caller.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Decipheriv, Hash, Hmac } from "node:crypto";
import { Duplex, Transform, type TransformCallback } from "node:stream";
import { ProtocolError } from "./errors.js";
import { Spool, type SpoolOptions } from "./spool.js";

export type MediaKind = "image" | "video" | "audio" | "document";

export const MEDIA_KINDS: readonly MediaKind[] = ["image", "video", "audio", "document"];
export const MEDIA_KEY_BYTES = 32;
export const MEDIA_MAC_BYTES = 10;
const SHA256_BYTES = 32;
const AES_BLOCK = 16;
const EXPANDED_BYTES = 112;

const HKDF_INFO: Record<MediaKind, string> = {
  image: "WhatsApp Image Keys",
  video: "WhatsApp Video Keys",
  audio: "WhatsApp Audio Keys",
  document: "WhatsApp Document Keys",
};

export interface MediaKeys {
  iv: Buffer;
  cipherKey: Buffer;
  macKey: Buffer;
  refKey: Buffer;
}

/** What a media message carries about its file, next to where to fetch it. */
export interface MediaDigest {
  mediaKey: Uint8Array;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
  fileLength: number;
}

export interface EncryptedMedia extends MediaDigest {
  upload: Uint8Array;
}

/** What the receiver knows from the media message and must check the download against. */
export interface MediaVerification {
  mediaKey: Uint8Array;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
  /** Checked when given (media messages carry it; 0 there means "not given"). */
  fileLength?: number | bigint;
}

export type MediaIntegrityReason = "enc_hash" | "malformed" | "mac" | "padding" | "plain_hash" | "length";

/** A download that does not match its media message. No plaintext of it has been or will be released. */
export class MediaIntegrityError extends Error {
  override readonly name = "MediaIntegrityError";
  readonly reason: MediaIntegrityReason;
  constructor(reason: MediaIntegrityReason, message: string) {
    super(`media integrity check failed (${reason}): ${message}`);
    this.reason = reason;
  }
}

function checkKind(kind: MediaKind): void {
  if (!Object.hasOwn(HKDF_INFO, kind)) {
    throw new ProtocolError("invalid_field", `media kind must be one of ${MEDIA_KINDS.join(", ")}, got ${String(kind)}`, {
      field: "kind",
    });
  }
}

function checkLength(bytes: Uint8Array, length: number, field: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw new ProtocolError("invalid_field", `${field}: must be exactly ${length} bytes, got ${got}`, { field });
  }
}

export function newMediaKey(): Uint8Array {
  return new Uint8Array(randomBytes(MEDIA_KEY_BYTES));
}

export function expandMediaKey(mediaKey: Uint8Array, kind: MediaKind): MediaKeys {
  checkKind(kind);
  checkLength(mediaKey, MEDIA_KEY_BYTES, "mediaKey");
  const expanded = Buffer.from(hkdfSync("sha256", mediaKey, new Uint8Array(0), HKDF_INFO[kind], EXPANDED_BYTES));
  return {
    iv: expanded.subarray(0, 16),
    cipherKey: expanded.subarray(16, 48),
    macKey: expanded.subarray(48, 80),
    refKey: expanded.subarray(80, 112),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Encryption

export function encryptMedia(plaintext: Uint8Array, kind: MediaKind, mediaKey: Uint8Array = newMediaKey()): EncryptedMedia {
  const keys = expandMediaKey(mediaKey, kind);
  const cipher = createCipheriv("aes-256-cbc", keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const mac = createHmac("sha256", keys.macKey).update(keys.iv).update(ciphertext).digest().subarray(0, MEDIA_MAC_BYTES);
  const upload = Buffer.concat([ciphertext, mac]);
  return {
    upload,
    mediaKey: Uint8Array.from(mediaKey),
    fileSha256: createHash("sha256").update(plaintext).digest(),
    fileEncSha256: createHash("sha256").update(upload).digest(),
    fileLength: plaintext.length,
  };
}

/**
 * Transform: plaintext in, upload bytes out. `result` resolves with the digest once the stream has flushed (and
 * rejects if it is destroyed first).
 */
export class MediaEncryptor extends Transform {
  readonly mediaKey: Uint8Array;
  readonly result: Promise<MediaDigest>;
  private readonly iv: Buffer;
  private readonly cipher: ReturnType<typeof createCipheriv>;
  private readonly hmac: Hmac;
  private readonly plainHash: Hash = createHash("sha256");
  private readonly encHash: Hash = createHash("sha256");
  private plainLength = 0;
  private settle!: { resolve: (d: MediaDigest) => void; reject: (e: Error) => void; done: boolean };

  constructor(kind: MediaKind, mediaKey: Uint8Array = newMediaKey()) {
    super();
    const keys = expandMediaKey(mediaKey, kind);
    this.mediaKey = Uint8Array.from(mediaKey);
    this.iv = keys.iv;
    this.cipher = createCipheriv("aes-256-cbc", keys.cipherKey, keys.iv);
    this.hmac = createHmac("sha256", keys.macKey).update(this.iv);
    this.result = new Promise<MediaDigest>((resolve, reject) => {
      this.settle = { resolve, reject, done: false };
    });
    // The digest is optional to consume; an unobserved rejection must not crash the process.
    this.result.catch(() => undefined);
  }

  private pushCiphertext(ciphertext: Buffer): void {
    if (ciphertext.length === 0) return;
    this.hmac.update(ciphertext);
    this.encHash.update(ciphertext);
    this.push(ciphertext);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.plainHash.update(chunk);
    this.plainLength += chunk.length;
    this.pushCiphertext(this.cipher.update(chunk));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.pushCiphertext(this.cipher.final());
    const mac = this.hmac.digest().subarray(0, MEDIA_MAC_BYTES);
    this.encHash.update(mac);
    this.push(mac);
    this.settle.done = true;
    this.settle.resolve({
      mediaKey: this.mediaKey,
      fileSha256: this.plainHash.digest(),
      fileEncSha256: this.encHash.digest(),
      fileLength: this.plainLength,
    });
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.settle.done) {
      this.settle.done = true;
      this.settle.reject(error ?? new Error("media encryptor destroyed before the end of its input"));
    }
    callback(error);
  }
}

export function createMediaEncryptor(kind: MediaKind, mediaKey?: Uint8Array): MediaEncryptor {
  return new MediaEncryptor(kind, mediaKey);
}

// ---------------------------------------------------------------------------------------------------------------
// Decryption

function checkVerification(expected: MediaVerification): void {
  checkLength(expected.mediaKey, MEDIA_KEY_BYTES, "mediaKey");
  checkLength(expected.fileSha256, SHA256_BYTES, "fileSha256");
  checkLength(expected.fileEncSha256, SHA256_BYTES, "fileEncSha256");
}

/**
 * Checks an upload as it streams past: SHA-256 of everything, HMAC and a trial decryption of the ciphertext (to
 * hash the plaintext). The last MEDIA_MAC_BYTES seen are held back because they may turn out to be the MAC.
 */
class UploadVerifier {
  private readonly expected: MediaVerification;
  private readonly encHash: Hash = createHash("sha256");
  private readonly hmac: Hmac;
  private readonly decipher: Decipheriv;
  private readonly plainHash: Hash = createHash("sha256");
  private tail: Buffer = Buffer.alloc(0);
  private ciphertextLength = 0;
  private plainLength = 0;

  constructor(kind: MediaKind, expected: MediaVerification) {
    checkVerification(expected);
    this.expected = expected;
    const keys = expandMediaKey(expected.mediaKey, kind);
    this.hmac = createHmac("sha256", keys.macKey).update(keys.iv);
    this.decipher = createDecipheriv("aes-256-cbc", keys.cipherKey, keys.iv);
  }

  /** Feeds upload bytes; returns the part that is certainly ciphertext (not the MAC), for the caller to keep. */
  update(chunk: Uint8Array): { ciphertext: Buffer; plaintext: Buffer } {
    this.encHash.update(chunk);
    const data =
      this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (data.length <= MEDIA_MAC_BYTES) {
      this.tail = Buffer.from(data);
      return { ciphertext: Buffer.alloc(0), plaintext: Buffer.alloc(0) };
    }
    const ciphertext = data.subarray(0, data.length - MEDIA_MAC_BYTES);
    this.tail = Buffer.from(data.subarray(data.length - MEDIA_MAC_BYTES));
    this.ciphertextLength += ciphertext.length;
    this.hmac.update(ciphertext);
    const plaintext = this.decipher.update(ciphertext);
    this.plainHash.update(plaintext);
    this.plainLength += plaintext.length;
    return { ciphertext, plaintext };
  }

  /** Runs every check; returns the last plaintext bytes and the MAC. Throws MediaIntegrityError on any mismatch. */
  finish(): { plaintext: Buffer; mac: Buffer } {
    if (!timingSafeEqual(this.encHash.digest(), this.expected.fileEncSha256)) {
      throw new MediaIntegrityError("enc_hash", "the download does not match fileEncSha256");
    }
    if (this.tail.length < MEDIA_MAC_BYTES || this.ciphertextLength < AES_BLOCK || this.ciphertextLength % AES_BLOCK !== 0) {
      throw new MediaIntegrityError("malformed", "an upload is whole AES blocks followed by a 10-byte MAC");
    }
    const mac = this.hmac.digest().subarray(0, MEDIA_MAC_BYTES);
    if (!timingSafeEqual(mac, this.tail)) throw new MediaIntegrityError("mac", "the MAC does not match");
    let last: Buffer;
    try {
      last = this.decipher.final();
    } catch {
      throw new MediaIntegrityError("padding", "the decrypted file has invalid padding");
    }
    this.plainHash.update(last);
    this.plainLength += last.length;
    if (!timingSafeEqual(this.plainHash.digest(), this.expected.fileSha256)) {
      throw new MediaIntegrityError("plain_hash", "the decrypted file does not match fileSha256");
    }
    const declared = this.expected.fileLength;
    if (declared !== undefined && BigInt(declared) !== 0n && BigInt(declared) !== BigInt(this.plainLength)) {
      throw new MediaIntegrityError("length", `the file has ${this.plainLength} bytes, fileLength says ${declared}`);
    }
    return { plaintext: last, mac: Buffer.from(this.tail) };
  }
}

/** Verifies and decrypts a whole upload held in memory. */
export function decryptMedia(upload: Uint8Array, kind: MediaKind, expected: MediaVerification): Uint8Array {
  const verifier = new UploadVerifier(kind, expected);
  const { plaintext } = verifier.update(upload);
  const { plaintext: last } = verifier.finish();
  return Buffer.concat([plaintext, last]);
}

/**
 * Async-generator form of the streaming decryptor, for `stream.pipeline(source, decryptMediaChunks(...), sink)` or
 * `for await`. Yields nothing until the whole upload has been verified; throws MediaIntegrityError otherwise.
 */
export function decryptMediaChunks(
  kind: MediaKind,
  expected: MediaVerification,
  spoolOptions: SpoolOptions = {},
): (source: AsyncIterable<Uint8Array | string>) => AsyncGenerator<Buffer> {
  // Checked now, so bad arguments fail at the call site rather than once data flows.
  checkVerification(expected);
  const keys = expandMediaKey(expected.mediaKey, kind);
  return async function* decrypt(source) {
    const verifier = new UploadVerifier(kind, expected);
    const spool = new Spool(spoolOptions);
    try {
      for await (const chunk of source) {
        if (typeof chunk === "string") throw new TypeError("media decryptor: expected bytes, got a string");
        await spool.write(verifier.update(chunk).ciphertext);
      }
      const { mac } = verifier.finish();
      await spool.finish();
      // Second pass over verified ciphertext. The MAC is recomputed to catch the spool file changing underneath us.
      const decipher = createDecipheriv("aes-256-cbc", keys.cipherKey, keys.iv);
      const hmac = createHmac("sha256", keys.macKey).update(keys.iv);
      for await (const ciphertext of spool.read()) {
        hmac.update(ciphertext);
        const plaintext = decipher.update(ciphertext);
        if (plaintext.length > 0) yield plaintext;
      }
      if (!timingSafeEqual(hmac.digest().subarray(0, MEDIA_MAC_BYTES), mac)) {
        throw new MediaIntegrityError("mac", "the spooled ciphertext changed after verification");
      }
      const last = decipher.final();
      if (last.length > 0) yield last;
    } finally {
      await spool.dispose();
    }
  };
}

/**
 * Duplex: upload bytes in, plaintext out, released only after the whole upload passed every check (see top of file).
 * Errors with MediaIntegrityError on a mismatch, having emitted nothing.
 */
export function createMediaDecryptor(kind: MediaKind, expected: MediaVerification, spoolOptions: SpoolOptions = {}): Duplex {
  return Duplex.from(decryptMediaChunks(kind, expected, spoolOptions));
}
