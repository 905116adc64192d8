// Interop media messages (WhatsApp's imageMessage, videoMessage, audioMessage, documentMessage) read from a decoded
// Message and built for one, and the mapping of their metadata to and from Matrix. Pure: no I/O.
import type { MessageInit } from "../../networks/whatsapp/index.js";
import { MediaError } from "../../core/ports.js";
import type { Message } from "../../protocol/gen/content_pb.js";
import { mediaPartOf } from "../../protocol/content.js";
import type { MediaDigest, MediaKind, MediaVerification } from "../../protocol/media-crypto.js";
import { MATRIX_WAVEFORM_MAX, defaultFileName, sanitiseFileName, type IncomingMatrixMedia, type MatrixMedia, type MatrixMediaType } from "./matrix-content.js";

/** WhatsApp voice-note waveforms: 64 samples, each 0..100. */
export const REMOTE_WAVEFORM_SAMPLES = 64;
export const REMOTE_WAVEFORM_MAX = 100;

/** A media message from the remote network, with what is needed to fetch, verify and describe its file. */
export interface RemoteMedia {
  kind: MediaKind;
  /** The id on the gatekeeper's media service (from direct_path "/v1/media/{id}"). */
  mediaId: string;
  verification: MediaVerification;
  /** Plaintext length; 0 when the sender did not say. */
  fileLength: number;
  mimetype: string;
  caption?: string;
  fileName?: string;
  width?: number;
  height?: number;
  seconds?: number;
  ptt: boolean;
  waveform?: Uint8Array;
  jpegThumbnail?: Uint8Array;
  /** A sticker: an image that Matrix shows as m.sticker. */
  sticker?: boolean;
  /** A sticker the sender marked animated (the file itself says for sure). */
  animated?: boolean;
}

const MEDIA_PATH = /(?:^|\/)v1\/media\/([A-Za-z0-9_-]{1,256})$/;

function mediaIdOf(directPath: string, url: string): string {
  const fromPath = MEDIA_PATH.exec(directPath)?.[1];
  if (fromPath) return fromPath;
  try {
    const fromUrl = MEDIA_PATH.exec(new URL(url).pathname)?.[1];
    if (fromUrl) return fromUrl;
  } catch {
    // not a URL either
  }
  throw new MediaError("it does not say where its file is stored on the media service");
}

const nonZero = (n: number) => (n > 0 ? n : undefined);
const nonEmpty = (s: string) => (s.length > 0 ? s : undefined);
const nonEmptyBytes = (b: Uint8Array) => (b.length > 0 ? b : undefined);

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Reads the media part of a Message; throws MediaError when there is none or its file cannot be located. */
export function remoteMediaOf(m: Message): RemoteMedia {
  const common = (kind: MediaKind, x: { mediaKey: Uint8Array; fileSha256: Uint8Array; fileEncSha256: Uint8Array; fileLength: bigint; directPath: string; url: string; mimetype: string }) => ({
    kind,
    mediaId: mediaIdOf(x.directPath, x.url),
    verification: { mediaKey: x.mediaKey, fileSha256: x.fileSha256, fileEncSha256: x.fileEncSha256, fileLength: x.fileLength },
    // validateContent bounds file_length by Number.MAX_SAFE_INTEGER.
    fileLength: Number(x.fileLength),
    mimetype: x.mimetype,
  });
  const media = mediaPartOf(m);
  if (!media) throw new MediaError("it carries no file");
  switch (media.kind) {
    case "image": {
      const x = media.part;
      return defined({ ...common("image", x), caption: nonEmpty(x.caption), width: nonZero(x.width), height: nonZero(x.height), ptt: false, jpegThumbnail: nonEmptyBytes(x.jpegThumbnail) });
    }
    case "video": {
      const x = media.part;
      return defined({ ...common("video", x), caption: nonEmpty(x.caption), width: nonZero(x.width), height: nonZero(x.height), seconds: nonZero(x.seconds), ptt: false, jpegThumbnail: nonEmptyBytes(x.jpegThumbnail) });
    }
    case "audio": {
      const x = media.part;
      return defined({ ...common("audio", x), seconds: nonZero(x.seconds), ptt: x.ptt, waveform: nonEmptyBytes(x.waveform) });
    }
    case "document": {
      const x = media.part;
      return defined({ ...common("document", x), caption: nonEmpty(x.caption), fileName: nonEmpty(sanitiseFileName(x.fileName || x.title)), ptt: false, jpegThumbnail: nonEmptyBytes(x.jpegThumbnail) });
    }
    case "sticker": {
      // WhatsApp encrypts stickers with the image keys; their thumbnail is a PNG, which Matrix's JPEG path does not take.
      const x = media.part;
      return defined({ ...common("image", x), mimetype: x.mimetype || "image/webp", width: nonZero(x.width), height: nonZero(x.height), ptt: false, sticker: true, animated: x.isAnimated || undefined });
    }
  }
}

const MSGTYPES: Record<MediaKind, MatrixMediaType> = { image: "m.image", video: "m.video", audio: "m.audio", document: "m.file" };

/** How a remote media message looks on Matrix (the file itself is uploaded by the caller). */
export function incomingMatrixMedia(remote: RemoteMedia, size: number): IncomingMatrixMedia {
  const msgtype = MSGTYPES[remote.kind];
  const mimetype = remote.mimetype || "application/octet-stream";
  return defined({
    msgtype,
    fileName: remote.fileName ?? defaultFileName(msgtype, mimetype),
    caption: remote.caption,
    mimetype,
    size,
    width: remote.width,
    height: remote.height,
    durationMs: remote.seconds !== undefined ? remote.seconds * 1000 : undefined,
    voice: remote.ptt ? defined({ waveform: remote.waveform ? waveformToMatrix(remote.waveform) : undefined }) : undefined,
  });
}

/** Which kind of interop message carries a Matrix media message (and so which media keys encrypt it). */
export function remoteKindFor(media: MatrixMedia): MediaKind {
  switch (media.msgtype) {
    case "m.image":
      return "image";
    case "m.video":
      return "video";
    case "m.audio":
      // An audio message has no caption field; a captioned audio file goes as a document so the caption is kept.
      return media.caption && !media.voice ? "document" : "audio";
    case "m.file":
      return "document";
  }
}

export interface UploadedRemoteMedia {
  kind: MediaKind;
  digest: MediaDigest;
  /** "/v1/media/{id}" on the gatekeeper. */
  directPath: string;
  mimetype: string;
  jpegThumbnail?: Uint8Array;
}

/** The fields every WhatsApp media message has: where the encrypted file is, its keys and hashes, and the quote. */
function uploadedFile(uploaded: UploadedRemoteMedia, quote?: { stanzaId: string; participant: string }) {
  const d = uploaded.digest;
  return {
    mimetype: uploaded.mimetype,
    fileSha256: d.fileSha256,
    fileLength: BigInt(d.fileLength),
    mediaKey: d.mediaKey,
    fileEncSha256: d.fileEncSha256,
    directPath: uploaded.directPath,
    ...(quote ? { contextInfo: { stanzaId: quote.stanzaId, participant: quote.participant } } : {}),
  };
}

/** The interop Message for a Matrix media message whose file is already on the gatekeeper. */
export function remoteMediaMessage(media: MatrixMedia, uploaded: UploadedRemoteMedia, quote?: { stanzaId: string; participant: string }): MessageInit {
  const file = uploadedFile(uploaded, quote);
  const caption = media.caption ?? "";
  const seconds = media.durationMs !== undefined ? secondsOf(media.durationMs) : 0;
  const thumbnail = uploaded.jpegThumbnail ? { jpegThumbnail: uploaded.jpegThumbnail } : {};
  switch (uploaded.kind) {
    case "image":
      return { imageMessage: { ...file, caption, width: media.width ?? 0, height: media.height ?? 0, ...thumbnail } };
    case "video":
      return { videoMessage: { ...file, caption, seconds, width: media.width ?? 0, height: media.height ?? 0, ...thumbnail } };
    case "audio":
      return {
        audioMessage: {
          ...file,
          seconds,
          ptt: media.voice,
          ...(media.voice && media.waveform ? { waveform: waveformToRemote(media.waveform) } : {}),
        },
      };
    case "document":
      return { documentMessage: { ...file, caption, fileName: media.fileName, title: media.fileName, ...thumbnail } };
  }
}

/**
 * The stickerMessage for a converted sticker already on the gatekeeper (WhatsApp encrypts stickers with the image
 * keys; `uploaded.kind` is "image").
 */
export function remoteStickerMessage(uploaded: UploadedRemoteMedia, sticker: { animated: boolean; width: number; height: number }, quote?: { stanzaId: string; participant: string }): MessageInit {
  return { stickerMessage: { ...uploadedFile(uploaded, quote), width: sticker.width, height: sticker.height, isAnimated: sticker.animated } };
}

/** WhatsApp durations are whole seconds; anything audible lasts at least one. */
function secondsOf(ms: number): number {
  return ms <= 0 ? 0 : Math.max(1, Math.round(ms / 1000));
}

/** MSC1767 waveform (any length, 0..1024) -> WhatsApp's (at most 64 samples, 0..100), averaging into buckets. */
export function waveformToRemote(waveform: readonly number[]): Uint8Array {
  const n = Math.min(REMOTE_WAVEFORM_SAMPLES, waveform.length);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * waveform.length) / n);
    const to = Math.max(from + 1, Math.floor(((i + 1) * waveform.length) / n));
    let sum = 0;
    for (let j = from; j < to; j++) sum += waveform[j]!;
    out[i] = Math.min(REMOTE_WAVEFORM_MAX, Math.round(((sum / (to - from)) * REMOTE_WAVEFORM_MAX) / MATRIX_WAVEFORM_MAX));
  }
  return out;
}

/** WhatsApp waveform (0..100 per sample) -> MSC1767 (0..1024); out-of-range samples are clamped. */
export function waveformToMatrix(waveform: Uint8Array): number[] {
  return [...waveform].map((v) => Math.round((Math.min(v, REMOTE_WAVEFORM_MAX) * MATRIX_WAVEFORM_MAX) / REMOTE_WAVEFORM_MAX));
}

/** Size of the upload for `plaintextLength` bytes: PKCS#7 always adds 1..16 bytes, then the 10-byte MAC. */
export function encryptedLength(plaintextLength: number): number {
  return (Math.floor(plaintextLength / 16) + 1) * 16 + 10;
}
