// The MediaPort: moves files between Matrix (authenticated media, encrypted attachments in encrypted rooms) and the
// gatekeeper's media service (WhatsApp-style encrypted uploads), as streams end to end. Only the thumbnails (tens of
// kilobytes) are held in memory; a file whose sender did not state its length is parked in a SealedSpool.
//
// Nothing unverified is ever passed on: both decryptors release plaintext only after the whole file matched its
// hashes, and a file that fails is reported to the user (MediaError) instead of being posted or sent.
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import type { MessageRef, RemoteMedia as CoreMedia } from "../../core/events.js";
import type { MatrixContent, MediaPort } from "../../core/ports.js";
import { mediaMessageOf, whatsAppMedia } from "../../networks/whatsapp/index.js";
import type { MatrixClient } from "../../matrix/client.js";
import type { MatrixIntent } from "../../matrix/intent.js";
import { createMediaEncryptor, decryptMediaChunks, encryptMedia } from "../../protocol/media-crypto.js";
import { MatrixMediaTooLargeError } from "../../matrix/errors.js";
import { limitBytes, MediaTooLargeError } from "./byte-limit.js";
import type { GatekeeperMedia } from "./gatekeeper-media.js";
import { encryptedLength, incomingMatrixMedia, remoteKindFor, remoteMediaMessage, remoteMediaOf, remoteStickerMessage, type RemoteMedia } from "./interop-media.js";
import { AttachmentEncryptor, decryptAttachment, decryptAttachmentChunks, encryptAttachment } from "./matrix-attachments.js";
import { isMatrixMediaType, matrixMediaContent, parseMatrixMedia, type IncomingThumbnail, type MatrixFileLocation, type MatrixMedia, type MatrixMediaSource } from "./matrix-content.js";
import { mediaErrorOf, tooLarge } from "./media-errors.js";
import { SealedSpool } from "./sealed-spool.js";
import { STICKER_INPUT_MAX_BYTES, toMatrixSticker, toWhatsAppSticker } from "./sticker-convert.js";

/** MSC4230's flag on an image's info: whether it is animated (Element Web and matrix-rust-sdk read it). */
export const IS_ANIMATED = "org.matrix.msc4230.is_animated";

/** Thumbnails travel inside the Signal-encrypted message (192 KiB in all), so they must stay small. */
export const MAX_THUMBNAIL_BYTES = 64 * 1024;

/** A file of unknown length up to this size is held in memory; a larger one goes to a (sealed) spool file. */
export const UNKNOWN_LENGTH_MEMORY_BYTES = 256 * 1024;

export interface MediaBridgeOptions {
  client: MatrixClient;
  /** Downloads from Matrix run as this user (the bridge bot): authenticated media needs a user. */
  botUserId: string;
  gatekeeper: GatekeeperMedia;
  /** Largest file carried in either direction (config bridge.max_media_size_mb). */
  maxBytes: number;
  /** The remote network's name, for messages to the user. */
  networkName: string;
  log: Logger;
  /** Where files of unknown length are spooled (default: the OS temporary directory). It must exist. */
  spoolDir?: string;
  /** Default UNKNOWN_LENGTH_MEMORY_BYTES. */
  spoolMemoryBytes?: number;
}

export class MediaBridge implements MediaPort {
  private readonly bot: MatrixIntent;

  constructor(private readonly options: MediaBridgeOptions) {
    this.bot = options.client.as(options.botUserId);
  }

  // ---------------------------------------------------------------- Matrix -> remote

  handles(msgtype: string): boolean {
    return isMatrixMediaType(msgtype);
  }

  async toRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<CoreMedia> {
    const max = this.options.maxBytes;
    const media = parseMatrixMedia(content);
    if (media.size !== undefined && media.size > max) throw tooLarge(max);
    try {
      const kind = remoteKindFor(media);
      const download = await this.bot.downloadContent(mxcOf(media.source), { maxBytes: max });
      // CTR mode keeps the length, so the download's length is the plaintext's in both cases.
      const plainLength = download.contentLength;
      const plaintext = media.source.encrypted ? Readable.from(decryptAttachmentChunks(media.source.file)(download.stream)) : download.stream;
      const encryptor = createMediaEncryptor(kind);
      const piping = pipeline(plaintext, encryptor).catch(() => undefined);
      const mediaId = await failingAs(plaintext, () => this.options.gatekeeper.upload(encryptor, plainLength === undefined ? undefined : encryptedLength(plainLength)));
      await piping;
      const digest = await encryptor.result;
      const jpegThumbnail = kind === "image" || kind === "video" ? await this.remoteThumbnail(media) : undefined;
      const mimetype = media.mimetype ?? (media.source.encrypted ? undefined : download.contentType) ?? "application/octet-stream";
      this.options.log.info({ kind, bytes: digest.fileLength, encrypted: media.source.encrypted }, "media sent to the media service");
      const uploaded = { kind, digest, directPath: `/v1/media/${mediaId}`, mimetype, ...(jpegThumbnail ? { jpegThumbnail } : {}) };
      return whatsAppMedia(remoteMediaMessage(media, uploaded, quote ? { stanzaId: quote.messageId, participant: quote.sender } : undefined));
    } catch (err) {
      throw this.classify(err, "Matrix -> remote");
    }
  }

  async stickerToRemote(matrixUser: string, content: MatrixContent, quote?: MessageRef): Promise<{ media: CoreMedia; asImage?: string }> {
    // m.sticker has an image's fields but no msgtype.
    const image = { ...content, msgtype: "m.image" };
    const media = parseMatrixMedia(image);
    const max = this.options.maxBytes;
    if (media.size !== undefined && media.size > max) throw tooLarge(max);
    const limit = Math.min(max, STICKER_INPUT_MAX_BYTES);
    const asImage = async (reason: string) => ({ media: await this.toRemote(matrixUser, image, quote), asImage: reason });
    if (media.size !== undefined && media.size > limit) return asImage("it is too large to be a sticker");
    const context = quote ? { stanzaId: quote.messageId, participant: quote.sender } : undefined;
    try {
      let plaintext: Buffer;
      try {
        const bytes = await this.downloadAll(mxcOf(media.source), limit);
        plaintext = media.source.encrypted ? decryptAttachment(bytes, media.source.file) : bytes;
      } catch (err) {
        if (limit < max && (err instanceof MediaTooLargeError || err instanceof MatrixMediaTooLargeError)) return asImage("it is too large to be a sticker");
        throw err;
      }
      const converted = await toWhatsAppSticker(plaintext);
      if (!converted.ok) {
        this.options.log.info({ reason: converted.reason }, "a Matrix sticker cannot be a WhatsApp sticker; sending it as an image");
        const uploaded = await this.uploadBytes(plaintext, media.mimetype ?? "application/octet-stream");
        return { media: whatsAppMedia(remoteMediaMessage(media, uploaded, context)), asImage: converted.reason };
      }
      const { sticker } = converted;
      const uploaded = await this.uploadBytes(sticker.webp, "image/webp");
      this.options.log.info({ bytes: sticker.webp.length, animated: sticker.animated, encrypted: media.source.encrypted }, "sticker converted and sent to the media service");
      return { media: whatsAppMedia(remoteStickerMessage(uploaded, sticker, context)) };
    } catch (err) {
      throw this.classify(err, "Matrix -> remote");
    }
  }

  /** A whole (small) file from Matrix, at most `maxBytes`. */
  private async downloadAll(mxc: string, maxBytes: number): Promise<Buffer> {
    const download = await this.bot.downloadContent(mxc, { maxBytes });
    const chunks: Uint8Array[] = [];
    for await (const chunk of download.stream) chunks.push(chunk as Uint8Array);
    return Buffer.concat(chunks);
  }

  /** A file held in memory, encrypted with the image keys and put on the gatekeeper's media service. */
  private async uploadBytes(plaintext: Uint8Array, mimetype: string) {
    const { upload, ...digest } = encryptMedia(plaintext, "image");
    const mediaId = await this.options.gatekeeper.upload(Readable.from([upload]), upload.length);
    return { kind: "image" as const, digest, directPath: `/v1/media/${mediaId}`, mimetype };
  }

  /** The Matrix thumbnail as WhatsApp's jpegThumbnail, if it is a small JPEG; a thumbnail never fails the file. */
  private async remoteThumbnail(media: MatrixMedia): Promise<Uint8Array | undefined> {
    const thumb = media.thumbnail;
    if (!thumb || (thumb.mimetype !== undefined && thumb.mimetype !== "image/jpeg")) return undefined;
    if (thumb.size !== undefined && thumb.size > MAX_THUMBNAIL_BYTES) return undefined;
    try {
      const download = await this.bot.downloadContent(mxcOf(thumb.source), { maxBytes: MAX_THUMBNAIL_BYTES });
      const chunks: Uint8Array[] = [];
      for await (const chunk of download.stream) chunks.push(chunk as Uint8Array);
      const bytes = Buffer.concat(chunks);
      const jpeg = thumb.source.encrypted ? decryptAttachment(bytes, thumb.source.file) : bytes;
      return jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg[2] === 0xff ? jpeg : undefined;
    } catch (err) {
      this.options.log.info({ err }, "the thumbnail could not be fetched; sending the file without it");
      return undefined;
    }
  }

  // ---------------------------------------------------------------- remote -> Matrix

  async toMatrix(puppetUserId: string, media: CoreMedia, encrypted: boolean): Promise<MatrixContent> {
    const max = this.options.maxBytes;
    const message = mediaMessageOf(media);
    const remote = remoteMediaOf(message);
    if (remote.fileLength > max) throw tooLarge(max);
    // Stickers are small; one whose sender says it is not goes on as it is, unconverted.
    if (remote.sticker && remote.fileLength > 0 && remote.fileLength <= STICKER_INPUT_MAX_BYTES) return this.stickerToMatrix(puppetUserId, remote, encrypted);
    let spool: SealedSpool | undefined;
    try {
      const encryptedFile = await this.options.gatekeeper.download(remote.mediaId, encryptedLength(max));
      const chunks = decryptMediaChunks(remote.kind, remote.verification)(encryptedFile)[Symbol.asyncIterator]();
      // The first chunk comes only once the whole file was verified: a tampered file fails here, before Matrix
      // sees a single byte.
      const first = await chunks.next();
      let length = remote.fileLength;
      let plaintext: Readable;
      if (length > 0) {
        plaintext = Readable.from(resume(first, chunks));
      } else {
        // No declared length, but Matrix uploads need one up front: park the (verified) file to count it, still
        // bounded by the limit while it streams in.
        spool = new SealedSpool({ memoryLimit: this.options.spoolMemoryBytes ?? UNKNOWN_LENGTH_MEMORY_BYTES, ...(this.options.spoolDir ? { dir: this.options.spoolDir } : {}) });
        for await (const chunk of limitBytes(max)(resume(first, chunks))) await spool.write(chunk);
        await spool.finish();
        length = spool.length;
        plaintext = Readable.from(spool.read());
      }
      const intent = this.options.client.as(puppetUserId);
      const incoming = incomingMatrixMedia(remote, length);
      let location: MatrixFileLocation;
      if (encrypted) {
        const encryptor = new AttachmentEncryptor();
        const piping = pipeline(plaintext, encryptor).catch(() => undefined);
        const url = await failingAs(plaintext, () => intent.uploadContent(encryptor, "application/octet-stream", undefined, length));
        await piping;
        location = { file: { ...(await encryptor.result), url } };
      } else {
        const url = await failingAs(plaintext, () => intent.uploadContent(plaintext, incoming.mimetype, incoming.fileName, length));
        location = { url };
      }
      const thumbnail = remote.jpegThumbnail ? await this.matrixThumbnail(intent, remote, encrypted) : undefined;
      this.options.log.info({ kind: remote.kind, bytes: length, encrypted }, "media posted to Matrix");
      return matrixMediaContent(incoming, location, thumbnail);
    } catch (err) {
      throw this.classify(err, "remote -> Matrix");
    } finally {
      await spool?.dispose();
    }
  }

  /**
   * A WhatsApp sticker for Matrix: a static WebP as PNG, an animated one as it is (sticker-convert.ts says why), with
   * MSC4230's animated flag; a file that cannot be read as an image is posted as it came.
   */
  private async stickerToMatrix(puppetUserId: string, remote: RemoteMedia, encrypted: boolean): Promise<MatrixContent> {
    try {
      const encryptedFile = await this.options.gatekeeper.download(remote.mediaId, encryptedLength(remote.fileLength));
      const chunks: Uint8Array[] = [];
      for await (const chunk of decryptMediaChunks(remote.kind, remote.verification)(encryptedFile)) chunks.push(chunk);
      const original = Buffer.concat(chunks);
      const converted = await toMatrixSticker(original);
      if (!converted.ok) this.options.log.info({ reason: converted.reason }, "a WhatsApp sticker could not be read as an image; posting it as it came");
      const file = converted.ok ? converted.sticker : { bytes: original, mimetype: remote.mimetype, width: remote.width, height: remote.height, animated: remote.animated };
      const incoming = { ...incomingMatrixMedia({ ...remote, mimetype: file.mimetype, width: file.width, height: file.height }, file.bytes.length) };
      incoming.fileName = incoming.fileName.replace(/^image/, "sticker");
      const intent = this.options.client.as(puppetUserId);
      let location: MatrixFileLocation;
      if (encrypted) {
        const { ciphertext, keys } = encryptAttachment(file.bytes);
        location = { file: { ...keys, url: await intent.uploadContent(ciphertext, "application/octet-stream") } };
      } else {
        location = { url: await intent.uploadContent(file.bytes, incoming.mimetype, incoming.fileName) };
      }
      this.options.log.info({ bytes: file.bytes.length, mimetype: file.mimetype, animated: file.animated, encrypted }, "sticker posted to Matrix");
      const content = matrixMediaContent(incoming, location);
      if (file.animated !== undefined) (content.info as Record<string, unknown>)[IS_ANIMATED] = file.animated;
      return content;
    } catch (err) {
      throw this.classify(err, "remote -> Matrix");
    }
  }

  private async matrixThumbnail(intent: MatrixIntent, remote: RemoteMedia, encrypted: boolean): Promise<IncomingThumbnail | undefined> {
    const jpeg = remote.jpegThumbnail!;
    try {
      let location: MatrixFileLocation;
      if (encrypted) {
        const { ciphertext, keys } = encryptAttachment(jpeg);
        location = { file: { ...keys, url: await intent.uploadContent(ciphertext, "application/octet-stream") } };
      } else {
        location = { url: await intent.uploadContent(jpeg, "image/jpeg", "thumbnail.jpg") };
      }
      return { location, mimetype: "image/jpeg", size: jpeg.length, ...jpegDimensions(jpeg) };
    } catch (err) {
      this.options.log.info({ err }, "the thumbnail could not be uploaded; posting the file without it");
      return undefined;
    }
  }

  private classify(err: unknown, direction: string): unknown {
    const mediaError = mediaErrorOf(err, this.options.maxBytes, this.options.networkName);
    if (mediaError) {
      this.options.log.warn({ direction, reason: mediaError.userMessage, err: mediaError.cause }, "media not bridged");
      return mediaError;
    }
    this.options.log.warn({ direction, err }, "media transfer failed; it will be retried");
    return err;
  }
}

function mxcOf(source: MatrixMediaSource): string {
  return source.encrypted ? source.file.url : source.mxc;
}

/** The chunks of an iterator whose first result was already taken; closing this closes the iterator. */
async function* resume(first: IteratorResult<Buffer>, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    if (first.done) return;
    yield first.value;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    // Lets the decryptor delete its spool when the upload stops early.
    await rest.return?.();
  }
}

/**
 * Runs a transfer that consumes `source` (directly or through a transform). When it fails, the source's own error
 * (a tampered file, the size limit) is the one reported, not the broken upload it caused.
 */
async function failingAs<T>(source: Readable, transfer: () => Promise<T>): Promise<T> {
  let sourceError: unknown;
  const onError = (err: unknown) => {
    sourceError ??= err;
  };
  source.on("error", onError);
  try {
    return await transfer();
  } catch (err) {
    source.destroy();
    // 'error' is emitted before 'close', so once the source has finished its error (if any) is known.
    await finished(source).catch(() => undefined);
    throw sourceError ?? err;
  } finally {
    source.off("error", onError);
  }
}

/** Width and height from a baseline or progressive JPEG's SOF segment, when it can be found. */
function jpegDimensions(jpeg: Uint8Array): { width?: number; height?: number } {
  let i = 2;
  while (i + 9 < jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1]!;
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (jpeg[i + 5]! << 8) | jpeg[i + 6]!, width: (jpeg[i + 7]! << 8) | jpeg[i + 8]! };
    }
    i += 2 + length;
  }
  return {};
}
