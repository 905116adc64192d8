// Sticker files converted between what Matrix clients send and show and what WhatsApp takes, with sharp (libvips).
// Pure apart from sharp: bytes in, bytes out. The input is untrusted (any Matrix user or WhatsApp contact chose it),
// so its size, its pixel count (sharp's limitInputPixels, checked on the header before any decoding) and its frame
// count are bounded before any pixel is decoded.
//
// WhatsApp's sticker rules, as its public sticker docs state them (the WhatsApp Business Platform's "Sticker
// messages" and the WhatsApp Node.js SDK's StickerMediaObject): WebP, 512×512 pixels, a static sticker at most
// 100 KB, an animated one at most 500 KB. Their "KB" is taken as 1000 bytes, the stricter reading.
import sharp, { type Metadata } from "sharp";

export const STICKER_SIDE = 512;
export const STATIC_STICKER_MAX_BYTES = 100 * 1000;
export const ANIMATED_STICKER_MAX_BYTES = 500 * 1000;

/** Sticker packs' files are tens to hundreds of kilobytes; anything past this is not worth decoding as one. */
export const STICKER_INPUT_MAX_BYTES = 8 * 1024 * 1024;
/** Width × height of the whole input, all frames stacked (what sharp's limitInputPixels counts). */
export const STICKER_INPUT_MAX_PIXELS = 64 * 1024 * 1024;
export const STICKER_INPUT_MAX_FRAMES = 500;

/**
 * The formats a Matrix sticker may come in. An APNG is a PNG to the libvips that sharp 0.35 ships (8.18): it reads
 * the default image only, so it becomes a static sticker of its first frame. libvips 8.19 adds APNG loading; a sharp
 * built on it reports the frames as pages, and the APNG then goes animated with no change here.
 */
const INPUT_FORMATS = new Set(["png", "jpeg", "gif", "webp"]);

/** WebP qualities tried in turn until the file fits WhatsApp's limit. */
const QUALITIES = [80, 60, 40, 20];

export interface WhatsAppSticker {
  webp: Buffer;
  animated: boolean;
  width: number;
  height: number;
}

export type StickerConversion<T> = { ok: true; sticker: T } | { ok: false; reason: string };

interface Probe {
  format: string;
  animated: boolean;
  width: number;
  /** One frame's height. */
  height: number;
}

const options = (animated: boolean) => ({ animated, limitInputPixels: STICKER_INPUT_MAX_PIXELS, failOn: "error" as const });

/** What the bytes are, from the header only; a reason instead when they are nothing this module takes. */
async function probe(input: Uint8Array): Promise<Probe | string> {
  if (input.length === 0) return "the file is empty";
  if (input.length > STICKER_INPUT_MAX_BYTES) return `the file is larger than ${STICKER_INPUT_MAX_BYTES / (1024 * 1024)} MB`;
  let meta: Metadata;
  try {
    // The header only (no pixel is decoded), so the pixel count is checked below with a clear reason.
    meta = await sharp(input, { ...options(true), limitInputPixels: false }).metadata();
  } catch (err) {
    return `it is not an image this bridge can read (${(err as Error).message})`;
  }
  if (!meta.format || !INPUT_FORMATS.has(meta.format)) return `its format (${meta.format ?? "unknown"}) cannot be a sticker`;
  const pages = meta.pages ?? 1;
  const height = meta.pageHeight ?? meta.height;
  if (!meta.width || !height) return "it has no size";
  if (meta.width * (meta.height ?? height) > STICKER_INPUT_MAX_PIXELS) return "it has too many pixels";
  if (pages > STICKER_INPUT_MAX_FRAMES) return `it has more than ${STICKER_INPUT_MAX_FRAMES} frames`;
  return { format: meta.format, animated: pages > 1, width: meta.width, height };
}

/**
 * A Matrix sticker's file (PNG, JPEG, GIF, WebP; animated GIF and WebP stay animated) as a WhatsApp sticker: WebP,
 * 512×512 with the image scaled to fit and the rest transparent, within WhatsApp's size limit. A WebP that already
 * is one goes unchanged.
 */
export async function toWhatsAppSticker(input: Uint8Array): Promise<StickerConversion<WhatsAppSticker>> {
  const p = await probe(input);
  if (typeof p === "string") return { ok: false, reason: p };
  const limit = p.animated ? ANIMATED_STICKER_MAX_BYTES : STATIC_STICKER_MAX_BYTES;
  const done = (webp: Buffer) => ({ ok: true as const, sticker: { webp, animated: p.animated, width: STICKER_SIDE, height: STICKER_SIDE } });
  if (p.format === "webp" && p.width === STICKER_SIDE && p.height === STICKER_SIDE && input.length <= limit) return done(Buffer.from(input));
  try {
    for (const quality of QUALITIES) {
      const webp = await sharp(input, options(p.animated))
        .resize(STICKER_SIDE, STICKER_SIDE, { fit: "contain", background: { r: 0, g: 0, b: 0, alpha: 0 } })
        .webp({ quality, alphaQuality: quality, effort: 4 })
        .toBuffer();
      if (webp.length <= limit) return done(webp);
    }
  } catch (err) {
    return { ok: false, reason: `it could not be converted (${(err as Error).message})` };
  }
  return { ok: false, reason: `it does not fit in WhatsApp's ${limit / 1000} KB sticker limit` };
}

export interface MatrixSticker {
  bytes: Buffer;
  mimetype: string;
  animated: boolean;
  width: number;
  height: number;
}

/**
 * A WhatsApp sticker's file for Matrix. A static WebP becomes a PNG: Element iOS (before its Element X rewrite) and
 * other clients built on platform image views do not show WebP, while every client shows PNG. An animated WebP stays
 * as it is: PNG cannot animate, a GIF would lose the alpha channel's smooth edges and grow several times over, and
 * the clients that animate stickers (Element Web/Desktop, Element X, FluffyChat) all play animated WebP; the caller
 * flags it as animated (MSC4230) so clients can tell before downloading it. Anything this cannot read is refused with
 * a reason, and the caller posts the file as it came.
 */
export async function toMatrixSticker(input: Uint8Array): Promise<StickerConversion<MatrixSticker>> {
  const p = await probe(input);
  if (typeof p === "string") return { ok: false, reason: p };
  const mimetype = `image/${p.format}`;
  if (p.animated || p.format !== "webp") return { ok: true, sticker: { bytes: Buffer.from(input), mimetype, animated: p.animated, width: p.width, height: p.height } };
  try {
    const png = await sharp(input, options(false)).png({ compressionLevel: 9 }).toBuffer();
    return { ok: true, sticker: { bytes: png, mimetype: "image/png", animated: false, width: p.width, height: p.height } };
  } catch (err) {
    return { ok: false, reason: `it could not be converted (${(err as Error).message})` };
  }
}
