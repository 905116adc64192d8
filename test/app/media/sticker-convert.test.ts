// The sticker conversions on real images made here with sharp: what comes out is read back with sharp, so a
// conversion that only relabels, loses the animation or breaks a limit fails.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import sharp from "sharp";
import { ANIMATED_STICKER_MAX_BYTES, STATIC_STICKER_MAX_BYTES, STICKER_INPUT_MAX_BYTES, toMatrixSticker, toWhatsAppSticker } from "../../../src/app/media/sticker-convert.js";

const solid = (width: number, height: number, r: number, alpha = 1) => sharp({ create: { width, height, channels: 4, background: { r, g: 40, b: 200, alpha } } });
const frames = (width: number, height: number, n: number) => Promise.all(Array.from({ length: n }, (_, i) => solid(width, height, (i * 80) % 256).png().toBuffer()));
const animatedGif = async (width: number, height: number, n: number) => sharp(await frames(width, height, n), { join: { animated: true } }).gif({ delay: Array(n).fill(100), loop: 0 }).toBuffer();
const animatedWebp = async (width: number, height: number, n: number) => sharp(await frames(width, height, n), { join: { animated: true } }).webp({ delay: Array(n).fill(100), loop: 0 }).toBuffer();
const read = (bytes: Uint8Array) => sharp(bytes, { animated: true }).metadata();
/** A small PNG with its IHDR rewritten to claim another size (and its CRC fixed, so decoders believe it). */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await solid(1, 1, 1).png().toBuffer();
  // Signature (8), then IHDR: length (4), type (4), width (4), height (4), ..., CRC over type and data.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}
/** The alpha of one pixel of the first frame. */
async function alphaAt(bytes: Uint8Array, x: number, y: number): Promise<number> {
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return data[(y * info.width + x) * info.channels + 3]!;
}

describe("sticker conversion (sharp)", function () {
  this.timeout(30_000);

  it("a wide PNG becomes a 512×512 static WebP, scaled to fit with transparent bands, within 100 KB", async () => {
    const png = await solid(300, 100, 255).png().toBuffer();
    const out = await toWhatsAppSticker(png);
    assert.ok(out.ok, !out.ok ? out.reason : "");
    const meta = await read(out.sticker.webp);
    assert.deepEqual([meta.format, meta.width, meta.height, meta.pages ?? 1], ["webp", 512, 512, 1]);
    assert.equal(out.sticker.animated, false);
    assert.ok(out.sticker.webp.length <= STATIC_STICKER_MAX_BYTES);
    // 300×100 scales to 512×171 in the middle: the top edge is padding, the centre the image.
    assert.equal(await alphaAt(out.sticker.webp, 256, 5), 0);
    assert.equal(await alphaAt(out.sticker.webp, 256, 256), 255);
  });

  it("a JPEG becomes a WebP sticker too", async () => {
    const out = await toWhatsAppSticker(await solid(64, 64, 10).jpeg().toBuffer());
    assert.ok(out.ok);
    assert.deepEqual([(await read(out.sticker.webp)).format, out.sticker.animated], ["webp", false]);
  });

  it("an animated GIF becomes an animated 512×512 WebP with all its frames, within 500 KB", async () => {
    const out = await toWhatsAppSticker(await animatedGif(100, 80, 4));
    assert.ok(out.ok, !out.ok ? out.reason : "");
    const meta = await read(out.sticker.webp);
    assert.deepEqual([meta.format, meta.width, meta.pageHeight, meta.pages], ["webp", 512, 512, 4]);
    assert.equal(out.sticker.animated, true);
    assert.ok(out.sticker.webp.length <= ANIMATED_STICKER_MAX_BYTES);
  });

  it("a WebP that already is a WhatsApp sticker goes unchanged", async () => {
    const webp = await solid(512, 512, 99).webp().toBuffer();
    const out = await toWhatsAppSticker(webp);
    assert.ok(out.ok);
    assert.deepEqual(out.sticker.webp, webp);
  });

  it("what is no image, too big or too many pixels is refused with a reason", async () => {
    const noise = await toWhatsAppSticker(randomBytes(3000));
    assert.ok(!noise.ok && /not an image/.test(noise.reason));
    const big = await toWhatsAppSticker(Buffer.concat([await solid(8, 8, 1).png().toBuffer(), Buffer.alloc(STICKER_INPUT_MAX_BYTES)]));
    assert.ok(!big.ok && /larger than/.test(big.reason));
    // A PNG whose header claims 20000×20000 pixels: refused from its header, before anything is decoded.
    const refused = await toWhatsAppSticker(await pngClaiming(20_000, 20_000));
    assert.ok(!refused.ok && /pixels/.test(refused.reason), !refused.ok ? refused.reason : "accepted");
  });

  it("noise that cannot be squeezed under 100 KB is refused, not sent over the limit", async () => {
    const raw = randomBytes(512 * 512 * 4);
    const png = await sharp(raw, { raw: { width: 512, height: 512, channels: 4 } }).png().toBuffer();
    const out = await toWhatsAppSticker(png);
    assert.ok(!out.ok && /100 KB/.test(out.reason), out.ok ? `${out.sticker.webp.length} bytes` : out.reason);
  });

  it("a static WebP from WhatsApp becomes a PNG for Matrix; an animated one stays WebP, flagged animated", async () => {
    const still = await toMatrixSticker(await solid(512, 512, 200, 0.5).webp().toBuffer());
    assert.ok(still.ok);
    assert.deepEqual([still.sticker.mimetype, still.sticker.animated, (await read(still.sticker.bytes)).format], ["image/png", false, "png"]);
    assert.deepEqual([still.sticker.width, still.sticker.height], [512, 512]);
    const webp = await animatedWebp(512, 512, 3);
    const moving = await toMatrixSticker(webp);
    assert.ok(moving.ok);
    assert.deepEqual([moving.sticker.mimetype, moving.sticker.animated, moving.sticker.width, moving.sticker.height], ["image/webp", true, 512, 512]);
    assert.deepEqual(moving.sticker.bytes, webp);
    const noise = await toMatrixSticker(randomBytes(100));
    assert.equal(noise.ok, false);
  });
});
