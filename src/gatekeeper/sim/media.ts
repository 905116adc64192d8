// Media of the simulated users, as a phone handles it: files to send are encrypted WhatsApp-style and put on the
// gatekeeper's own media service; files received are fetched from it, verified and decrypted (and only a summary is
// kept: the plaintext is decrypted again on demand, so none of it rests on disk).
import { create, fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { z } from "zod";
import { mediaPartOf, validateContent, type Content } from "../../protocol/content.js";
import { ContentSchema, type Message } from "../../protocol/gen/content_pb.js";
import { decryptMediaChunks, encryptMedia, MediaIntegrityError, type MediaKind, type MediaVerification } from "../../protocol/media-crypto.js";
import { HttpError, invalid } from "../http-error.js";
import type { MediaStore } from "../media.js";

/** Kept small: thumbnails ride inside the Signal-encrypted message. */
const MAX_THUMBNAIL_BYTES = 64 * 1024;

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

export const sendMediaSchema = z
  .object({
    kind: z.enum(["image", "video", "audio", "document"]),
    /** The file, base64. */
    data: base64.min(1, "must not be empty"),
    mimetype: z.string().min(1).max(255).optional(),
    caption: z.string().min(1).max(65536).optional(),
    /** Documents: the name the file is saved under (default "file"). */
    fileName: z.string().min(1).max(255).optional(),
    width: z.int().min(1).max(100_000).optional(),
    height: z.int().min(1).max(100_000).optional(),
    seconds: z.int().min(0).max(86_400).optional(),
    /** Audio: a voice note (push to talk). */
    ptt: z.boolean().optional(),
    /** Voice notes: up to 64 samples, 0..100. */
    waveform: z.array(z.int().min(0).max(100)).min(1).max(64).optional(),
    /** Images, videos and documents: a small JPEG preview, base64. */
    thumbnail: base64.min(1).optional(),
    /** An image sent as a sticker (WhatsApp's stickerMessage; WebP). */
    sticker: z.boolean().optional(),
    /** A sticker marked animated (stickerMessage.isAnimated; the file should then be an animated WebP). */
    animated: z.boolean().optional(),
    /** A video sent as a video note (WhatsApp's round ptvMessage). */
    videoNote: z.boolean().optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    const only = (field: keyof typeof m, kinds: string[]) => {
      if (m[field] !== undefined && !kinds.includes(m.kind)) ctx.addIssue({ code: "custom", path: [field], message: `goes with ${kinds.join(" or ")}, not ${m.kind}` });
    };
    only("caption", ["image", "video", "document"]);
    only("fileName", ["document"]);
    only("width", ["image", "video"]);
    only("height", ["image", "video"]);
    only("seconds", ["video", "audio"]);
    only("ptt", ["audio"]);
    only("waveform", ["audio"]);
    only("thumbnail", ["image", "video", "document"]);
    only("sticker", ["image"]);
    if (m.animated !== undefined && !m.sticker) ctx.addIssue({ code: "custom", path: ["animated"], message: "goes with sticker" });
    only("videoNote", ["video"]);
  });

export type SendMedia = z.infer<typeof sendMediaSchema>;

/** A file the simulated user put on the media service, ready to be referenced from a message. */
export interface StoredMedia {
  mediaId: string;
  kind: MediaKind;
  mediaKey: Uint8Array;
  fileSha256: Uint8Array;
  fileEncSha256: Uint8Array;
  fileLength: number;
}

const DEFAULT_MIME: Record<MediaKind, string> = { image: "image/jpeg", video: "video/mp4", audio: "audio/ogg; codecs=opus", document: "application/octet-stream" };

/** Encrypts the file of a send request and stores the upload, as the phone's app would before sending. */
export async function storeMedia(store: MediaStore, uploader: string, media: SendMedia): Promise<StoredMedia> {
  const bytes = Buffer.from(media.data, "base64");
  if (bytes.length === 0) throw invalid("media.data: must not be empty");
  if (media.thumbnail !== undefined && Buffer.from(media.thumbnail, "base64").length > MAX_THUMBNAIL_BYTES) {
    throw invalid(`media.thumbnail: at most ${MAX_THUMBNAIL_BYTES} bytes`);
  }
  const encrypted = encryptMedia(bytes, media.kind);
  const info = await store.saveBytes(encrypted.upload, uploader, "application/octet-stream");
  return {
    mediaId: info.id,
    kind: media.kind,
    mediaKey: encrypted.mediaKey,
    fileSha256: encrypted.fileSha256,
    fileEncSha256: encrypted.fileEncSha256,
    fileLength: encrypted.fileLength,
  };
}

/** The Content of a media message for a stored file. */
export function mediaContent(media: SendMedia, stored: StoredMedia, quote?: { stanzaId: string; participant: string }): Content {
  const file = {
    mimetype: media.mimetype ?? DEFAULT_MIME[media.kind],
    fileSha256: stored.fileSha256,
    fileLength: BigInt(stored.fileLength),
    mediaKey: stored.mediaKey,
    fileEncSha256: stored.fileEncSha256,
    directPath: `/v1/media/${stored.mediaId}`,
    ...(quote ? { contextInfo: quote } : {}),
  };
  const thumbnail = media.thumbnail === undefined ? {} : { jpegThumbnail: Buffer.from(media.thumbnail, "base64") };
  const caption = media.caption ?? "";
  let message: MessageInitShape<typeof ContentSchema>;
  switch (media.kind) {
    case "image":
      if (media.sticker) message = { message: { stickerMessage: { ...file, mimetype: media.mimetype ?? "image/webp", width: media.width ?? 0, height: media.height ?? 0, isAnimated: media.animated ?? false } } };
      else message = { message: { imageMessage: { ...file, caption, width: media.width ?? 0, height: media.height ?? 0, ...thumbnail } } };
      break;
    case "video": {
      const video = { ...file, caption, seconds: media.seconds ?? 0, width: media.width ?? 0, height: media.height ?? 0, ...thumbnail };
      message = { message: media.videoNote ? { ptvMessage: video } : { videoMessage: video } };
      break;
    }
    case "audio":
      message = { message: { audioMessage: { ...file, seconds: media.seconds ?? 0, ptt: media.ptt ?? false, ...(media.waveform ? { waveform: Uint8Array.from(media.waveform) } : {}) } } };
      break;
    case "document": {
      const fileName = media.fileName ?? "file";
      message = { message: { documentMessage: { ...file, caption, fileName, title: fileName, ...thumbnail } } };
      break;
    }
  }
  return validateContent(create(ContentSchema, message));
}

/** What a simulated user made of a media message it received. */
export interface ReceivedMedia {
  kind: MediaKind;
  /** The id on the media service, when the message named one. */
  mediaId?: string;
  /** True when the file was found and passed every check of interop-protocol §12. */
  ok: boolean;
  /** Why not, when !ok. */
  error?: string;
  mimetype: string;
  fileName?: string;
  /** Of the decrypted file (hex), when ok. */
  sha256?: string;
  length?: number;
  /** For a sticker: what its message says of it, so tests can check what the phone would show. */
  sticker?: { animated: boolean; width: number; height: number };
}

interface MediaRef {
  kind: MediaKind;
  mediaId: string | undefined;
  verification: MediaVerification;
  mimetype: string;
  fileName?: string;
  sticker?: { animated: boolean; width: number; height: number };
}

function mediaRefOf(m: Message | undefined): MediaRef | undefined {
  if (!m) return undefined;
  const pick = (kind: MediaKind, x: { directPath: string; mediaKey: Uint8Array; fileSha256: Uint8Array; fileEncSha256: Uint8Array; fileLength: bigint; mimetype: string }, fileName?: string): MediaRef => ({
    kind,
    mediaId: /^\/v1\/media\/([A-Za-z0-9_-]+)$/.exec(x.directPath)?.[1],
    verification: { mediaKey: x.mediaKey, fileSha256: x.fileSha256, fileEncSha256: x.fileEncSha256, fileLength: x.fileLength },
    mimetype: x.mimetype,
    ...(fileName ? { fileName } : {}),
  });
  const media = mediaPartOf(m);
  if (!media) return undefined;
  // Stickers are encrypted with the image keys.
  if (media.kind === "sticker") return { ...pick("image", media.part), sticker: { animated: media.part.isAnimated, width: media.part.width, height: media.part.height } };
  return pick(media.kind, media.part, media.kind === "document" ? media.part.fileName || media.part.title : undefined);
}

/** Fetches, verifies and decrypts the file of a received media message, streaming; yields only verified bytes. */
async function* decryptStored(store: MediaStore, ref: MediaRef): AsyncGenerator<Buffer> {
  if (ref.mediaId === undefined) throw new HttpError(404, "NOT_FOUND", "the message does not name a file on this media service");
  const found = store.open(ref.mediaId);
  if (!found) throw new HttpError(404, "NOT_FOUND", `no media ${ref.mediaId} on this media service`);
  yield* decryptMediaChunks(ref.kind, ref.verification)(found.stream);
}

/** Checks a received media message's file as the phone would; never throws (failures are the result). */
export async function checkReceivedMedia(store: MediaStore, content: Content): Promise<ReceivedMedia | undefined> {
  const ref = mediaRefOf(content.message);
  if (!ref) return undefined;
  const summary = { kind: ref.kind, ...(ref.mediaId ? { mediaId: ref.mediaId } : {}), mimetype: ref.mimetype, ...(ref.fileName ? { fileName: ref.fileName } : {}), ...(ref.sticker ? { sticker: ref.sticker } : {}) };
  try {
    const hash = createHash("sha256");
    let length = 0;
    for await (const chunk of decryptStored(store, ref)) {
      hash.update(chunk);
      length += chunk.length;
    }
    return { ...summary, ok: true, sha256: hash.digest("hex"), length };
  } catch (err) {
    return { ...summary, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The decrypted file of a received message (its content as stored in protobuf JSON), for the admin API. The first
 * chunk is read before returning, so a file that fails verification throws here (422) instead of mid-response.
 */
export async function openReceivedMedia(store: MediaStore, contentJson: Record<string, unknown>): Promise<{ mimetype: string; fileName?: string; chunks: AsyncIterable<Buffer> }> {
  let content: Content;
  try {
    content = fromJson(ContentSchema, contentJson as JsonValue, { ignoreUnknownFields: true });
  } catch {
    throw new HttpError(404, "NOT_FOUND", "that message could not be read, so it has no file");
  }
  const ref = mediaRefOf(content.message);
  if (!ref) throw new HttpError(404, "NOT_FOUND", "that message has no file");
  const chunks = decryptStored(store, ref);
  let first: IteratorResult<Buffer>;
  try {
    first = await chunks.next();
  } catch (err) {
    if (err instanceof MediaIntegrityError) throw new HttpError(422, "INVALID", err.message);
    throw err;
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield first.value;
    yield* chunks;
  }
  return { mimetype: ref.mimetype || "application/octet-stream", ...(ref.fileName ? { fileName: ref.fileName } : {}), chunks: all() };
}
