// Matrix media message content (m.image, m.video, m.audio incl. voice messages, m.file) read from an event and
// written for one. Pure: no I/O. Content from events is untrusted; every field is checked before use.
//
// Captions follow the spec's media caption rule (Matrix 1.10): when `filename` is present and differs from `body`,
// `body` is a caption; otherwise `body` is the file name. Voice messages are m.audio with
// `org.matrix.msc3245.voice` and `org.matrix.msc1767.audio` (duration in ms, waveform of integers 0..1024).
import { z } from "zod";
import { MediaError, type MatrixContent } from "../../core/ports.js";
import { whatsAppDialect } from "../../networks/whatsapp/index.js";
import { InvalidEncryptedFileError, parseEncryptedFile, type EncryptedFile } from "./matrix-attachments.js";

export type MatrixMediaType = "m.image" | "m.video" | "m.audio" | "m.file";

/** Where a Matrix file is: plain media (`url`) or an encrypted attachment (`file`). */
export type MatrixMediaSource = { encrypted: false; mxc: string } | { encrypted: true; file: EncryptedFile };

/** A Matrix media message as the bridge needs it to send the file on. */
export interface MatrixMedia {
  msgtype: MatrixMediaType;
  source: MatrixMediaSource;
  fileName: string;
  caption?: string;
  mimetype?: string;
  /** Declared size in bytes (info.size); the download is checked against the limit anyway. */
  size?: number;
  width?: number;
  height?: number;
  durationMs?: number;
  /** A voice message (MSC3245). */
  voice: boolean;
  /** MSC1767 waveform, integers 0..1024. */
  waveform?: number[];
  thumbnail?: { source: MatrixMediaSource; mimetype?: string; size?: number };
}

export const MATRIX_WAVEFORM_MAX = 1024;

const MEDIA_TYPES = ["m.image", "m.video", "m.audio", "m.file"] as const;

/** Whether a Matrix msgtype is one of the media messages carried as files. */
export function isMatrixMediaType(msgtype: string): msgtype is MatrixMediaType {
  return (MEDIA_TYPES as readonly string[]).includes(msgtype);
}
const dimension = z.number().int().min(0).max(1_000_000);
const mxc = z.string().regex(/^mxc:\/\/[^/]+\/[^/]+$/);

// Loose on purpose: clients add fields of their own (xyz.amorgan.blurhash, ...); fields of the wrong type are dropped
// rather than failing the message, except those the file cannot be fetched without.
const infoSchema = z.looseObject({
  mimetype: z.string().min(1).max(255).optional().catch(undefined),
  size: z.number().int().min(0).optional().catch(undefined),
  w: dimension.optional().catch(undefined),
  h: dimension.optional().catch(undefined),
  duration: z.number().int().min(0).optional().catch(undefined),
  thumbnail_url: mxc.optional().catch(undefined),
  thumbnail_file: z.unknown().optional(),
  thumbnail_info: z
    .looseObject({
      mimetype: z.string().min(1).max(255).optional().catch(undefined),
      size: z.number().int().min(0).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});

const audioSchema = z.looseObject({
  duration: z.number().int().min(0).optional().catch(undefined),
  waveform: z.array(z.number().int().min(0).max(MATRIX_WAVEFORM_MAX)).max(4096).optional().catch(undefined),
});

function fileSource(file: unknown, url: unknown, what: string): MatrixMediaSource {
  if (file !== undefined) {
    try {
      return { encrypted: true, file: parseEncryptedFile(file) };
    } catch (err) {
      if (err instanceof InvalidEncryptedFileError) throw new MediaError(`the ${what} is encrypted in a way this bridge cannot read (${err.message})`);
      throw err;
    }
  }
  const parsed = mxc.safeParse(url);
  if (!parsed.success) throw new MediaError(`the ${what} has no valid mxc:// URL`);
  return { encrypted: false, mxc: parsed.data };
}

/** Reads a media message from an event's content; throws MediaError for content that cannot be bridged. */
export function parseMatrixMedia(content: MatrixContent): MatrixMedia {
  const msgtype = content.msgtype;
  if (typeof msgtype !== "string" || !isMatrixMediaType(msgtype)) {
    throw new MediaError(`"${String(msgtype)}" is not a media message`);
  }
  const source = fileSource(content.file, content.url, "file");
  const info = infoSchema.safeParse(content.info ?? {}).data ?? infoSchema.parse({});
  const body = typeof content.body === "string" ? content.body : "";
  const filename = typeof content.filename === "string" && content.filename.length > 0 ? content.filename : undefined;
  const isCaption = filename !== undefined && body.length > 0 && body !== filename;
  let caption: string | undefined;
  if (isCaption) {
    const rich = content.format === "org.matrix.custom.html" && typeof content.formatted_body === "string";
    caption = whatsAppDialect.fromMatrix(rich ? { body, format: "org.matrix.custom.html", formatted_body: content.formatted_body as string } : { body });
  }
  const fileName = sanitiseFileName(filename ?? body) || defaultFileName(msgtype as MatrixMediaType, info.mimetype);
  const audio = audioSchema.safeParse(content["org.matrix.msc1767.audio"] ?? {}).data;
  const voice = msgtype === "m.audio" && content["org.matrix.msc3245.voice"] !== undefined && content["org.matrix.msc3245.voice"] !== null;
  const durationMs = info.duration ?? audio?.duration;

  let thumbnail: MatrixMedia["thumbnail"];
  if (info.thumbnail_file !== undefined || info.thumbnail_url !== undefined) {
    try {
      thumbnail = {
        source: fileSource(info.thumbnail_file, info.thumbnail_url, "thumbnail"),
        ...(info.thumbnail_info?.mimetype ? { mimetype: info.thumbnail_info.mimetype } : {}),
        ...(info.thumbnail_info?.size !== undefined ? { size: info.thumbnail_info.size } : {}),
      };
    } catch {
      thumbnail = undefined; // a broken thumbnail never stops the file itself
    }
  }
  return {
    msgtype: msgtype as MatrixMediaType,
    source,
    fileName,
    ...(caption ? { caption } : {}),
    ...(info.mimetype ? { mimetype: info.mimetype } : {}),
    ...(info.size !== undefined ? { size: info.size } : {}),
    ...(info.w ? { width: info.w } : {}),
    ...(info.h ? { height: info.h } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    voice,
    ...(voice && audio?.waveform && audio.waveform.length > 0 ? { waveform: audio.waveform } : {}),
    ...(thumbnail ? { thumbnail } : {}),
  };
}

/** Where the bridge put a file on Matrix: a plain mxc URI, or an encrypted attachment. */
export type MatrixFileLocation = { url: string } | { file: EncryptedFile };

/** A media message coming from the remote network, as the bridge posts it. */
export interface IncomingMatrixMedia {
  msgtype: MatrixMediaType;
  fileName: string;
  caption?: string;
  mimetype: string;
  size: number;
  width?: number;
  height?: number;
  durationMs?: number;
  /** Present for voice messages. */
  voice?: { waveform?: number[] };
}

export interface IncomingThumbnail {
  location: MatrixFileLocation;
  mimetype: string;
  size: number;
  width?: number;
  height?: number;
}

/** The m.room.message content for a file the bridge uploaded. */
export function matrixMediaContent(media: IncomingMatrixMedia, location: MatrixFileLocation, thumbnail?: IncomingThumbnail): MatrixContent {
  const info: Record<string, unknown> = { mimetype: media.mimetype, size: media.size };
  if (media.width) info.w = media.width;
  if (media.height) info.h = media.height;
  if (media.durationMs !== undefined) info.duration = media.durationMs;
  if (thumbnail) {
    if ("url" in thumbnail.location) info.thumbnail_url = thumbnail.location.url;
    else info.thumbnail_file = thumbnail.location.file;
    info.thumbnail_info = {
      mimetype: thumbnail.mimetype,
      size: thumbnail.size,
      ...(thumbnail.width ? { w: thumbnail.width } : {}),
      ...(thumbnail.height ? { h: thumbnail.height } : {}),
    };
  }
  const text = media.caption ? whatsAppDialect.toMatrix(media.caption) : { body: media.fileName };
  const content: MatrixContent = { msgtype: media.msgtype, ...text, filename: media.fileName, info };
  if ("url" in location) content.url = location.url;
  else content.file = location.file;
  if (media.voice) {
    content["org.matrix.msc3245.voice"] = {};
    content["org.matrix.msc1767.audio"] = {
      ...(media.durationMs !== undefined ? { duration: media.durationMs } : {}),
      ...(media.voice.waveform && media.voice.waveform.length > 0 ? { waveform: media.voice.waveform } : {}),
    };
  }
  return content;
}

/** No path separators or control characters in a name another client will save a file under. */
export function sanitiseFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f/\\]/g, "_").trim().slice(0, 255);
}

const EXTENSIONS: Record<string, string> = {
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/gif": "gif",
  "image/webp": "webp",
  "video/mp4": "mp4",
  "video/webm": "webm",
  "video/quicktime": "mov",
  "audio/ogg": "ogg",
  "audio/mpeg": "mp3",
  "audio/mp4": "m4a",
  "audio/aac": "aac",
  "audio/webm": "webm",
  "audio/wav": "wav",
  "application/pdf": "pdf",
};

const BASE_NAMES: Record<MatrixMediaType, string> = { "m.image": "image", "m.video": "video", "m.audio": "audio", "m.file": "file" };

/** A name for a file that came without one, e.g. "image.jpg" (WhatsApp images and videos carry no file name). */
export function defaultFileName(msgtype: MatrixMediaType, mimetype: string | undefined): string {
  const base = mimetype?.split(";")[0]?.trim().toLowerCase();
  const ext = base ? EXTENSIONS[base] : undefined;
  return ext ? `${BASE_NAMES[msgtype]}.${ext}` : BASE_NAMES[msgtype];
}
