// The MediaPort against the real things it talks to: the harness Synapse (authenticated media, uploads as a puppet)
// and a real `dma-gatekeeper serve` (media service). Files are checked byte for byte after each crossing.
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import sharp from "sharp";
import { GatekeeperMedia } from "../../../src/app/media/gatekeeper-media.js";
import { decryptAttachment, encryptAttachment, type EncryptedFile } from "../../../src/app/media/matrix-attachments.js";
import { MediaBridge } from "../../../src/app/media/media-bridge.js";
import { puppetUserId } from "../../../src/config/identities.js";
import { providerPublicKey } from "../../../src/config/provider-key.js";
import type { RemoteMedia } from "../../../src/core/events.js";
import { MediaError } from "../../../src/core/ports.js";
import { mediaMessageOf, whatsAppMedia } from "../../../src/networks/whatsapp/index.js";
import { GatekeeperHttpError } from "../../../src/interop/errors.js";
import { GatekeeperApi } from "../../../src/interop/http-api.js";
import { ProviderTokens } from "../../../src/interop/tokens.js";
import { MatrixClient } from "../../../src/matrix/client.js";
import { decodeContent, encodeContent } from "../../../src/protocol/content.js";
import { MessageSchema, type Message } from "../../../src/protocol/gen/content_pb.js";
import { decryptMedia, encryptMedia, type MediaKind } from "../../../src/protocol/media-crypto.js";
import { GatekeeperProcess } from "../../../src/gatekeeper/process.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../../harness/fixture.js";

const MAX = 2 * 1024 * 1024;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), randomBytes(14), Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x30, 0x00, 0x40]), randomBytes(200)]);

describe("media bridge against Synapse and the gatekeeper", function () {
  this.timeout(60_000);
  let env: TestEnv;
  let gk: GatekeeperProcess;
  let client: MatrixClient;
  let api: GatekeeperApi;
  let media: MediaBridge;
  let bot: string;
  let puppet: string;
  let tokens: ProviderTokens;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 30_000);
    env = await getTestEnv();
    gk = await GatekeeperProcess.start({ mediaMaxBytes: 4 * 1024 * 1024 });
    const key = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await gk.addProvider("mediatest", providerPublicKey(key), ["media.test"]);
    tokens = new ProviderTokens("mediatest", key, { gatekeeperUrl: gk.url });
    api = new GatekeeperApi({ baseUrl: gk.url, tokens });
    client = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token, logger: pino({ level: "silent" }) });
    bot = `@${env.config.appservice.bot_localpart}:${env.synapse.serverName}`;
    puppet = puppetUserId(env.config, "+4915199990000");
    await client.as(bot).ensureRegistered();
    await client.as(puppet).ensureRegistered();
    media = new MediaBridge({ client, botUserId: bot, gatekeeper: new GatekeeperMedia({ baseUrl: gk.url, api, tokens }), maxBytes: MAX, networkName: "WhatsApp", log: pino({ level: "silent" }) });
  });

  after(async () => {
    await gk?.stop();
  });

  /** What a Matrix user's client would upload: plain media, as some user of the homeserver. */
  const uploadPlain = (bytes: Uint8Array, type = "application/octet-stream") => client.as(bot).uploadContent(bytes, type, "upload.bin");

  async function downloadMatrix(mxc: string): Promise<Buffer> {
    const { stream } = await client.as(bot).downloadContent(mxc);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The interop message is valid on the wire, and its file decrypts to `expected` from the media service. */
  async function assertRemoteFile(sent: RemoteMedia, kind: MediaKind, expected: Uint8Array): Promise<Message> {
    const init = mediaMessageOf(sent);
    const message = decodeContent(encodeContent({ message: init })).message!;
    const m = message.imageMessage ?? message.videoMessage ?? message.audioMessage ?? message.documentMessage;
    assert.ok(m, "a media message");
    const id = /^\/v1\/media\/(.+)$/.exec(m.directPath)![1]!;
    const upload = new Uint8Array(await (await api.downloadMedia(id)).arrayBuffer());
    assert.deepEqual(Buffer.from(decryptMedia(upload, kind, m)), Buffer.from(expected));
    return message;
  }

  /** A file as a phone would send it: encrypted, on the media service, described by a media message. */
  async function remoteMessage(kind: MediaKind, bytes: Uint8Array, extra: Record<string, unknown> = {}, fileLength?: number): Promise<{ message: Message; mediaId: string }> {
    const enc = encryptMedia(bytes, kind);
    const mediaId = await api.uploadMedia(enc.upload);
    const file = { mediaKey: enc.mediaKey, fileSha256: enc.fileSha256, fileEncSha256: enc.fileEncSha256, fileLength: BigInt(fileLength ?? enc.fileLength), directPath: `/v1/media/${mediaId}`, ...extra };
    const field = { image: "imageMessage", video: "videoMessage", audio: "audioMessage", document: "documentMessage" }[kind];
    return { message: create(MessageSchema, { [field]: file }), mediaId };
  }

  describe("Matrix -> remote", () => {
    it("carries an image with caption, dimensions and a JPEG thumbnail", async () => {
      const bytes = randomBytes(700_000);
      const url = await uploadPlain(bytes, "image/png");
      const thumb = await uploadPlain(JPEG, "image/jpeg");
      const quote = { messageId: "0123456789ABCDEF0123456789ABCDEF", sender: "tel:+4915199990000", fromMe: false };
      const init = await media.toRemote("@alice:x", { msgtype: "m.image", body: "my cat", filename: "cat.png", url, info: { mimetype: "image/png", size: bytes.length, w: 800, h: 600, thumbnail_url: thumb, thumbnail_info: { mimetype: "image/jpeg", size: JPEG.length } } }, quote);
      const image = (await assertRemoteFile(init, "image", bytes)).imageMessage!;
      assert.deepEqual([image.caption, image.mimetype, image.width, image.height, Number(image.fileLength)], ["my cat", "image/png", 800, 600, bytes.length]);
      assert.deepEqual(Buffer.from(image.jpegThumbnail), JPEG);
      assert.equal(image.contextInfo?.stanzaId, quote.messageId);
      assert.equal(image.contextInfo?.participant, quote.sender);
    });

    it("carries an encrypted attachment (the `file` object of an encrypted room), decrypted and re-encrypted", async () => {
      const bytes = randomBytes(1_500_000);
      const { ciphertext, keys } = encryptAttachment(bytes);
      const file: EncryptedFile = { ...keys, url: await uploadPlain(ciphertext) };
      const init = await media.toRemote("@alice:x", { msgtype: "m.file", body: "notes.pdf", file, info: { mimetype: "application/pdf", size: bytes.length } });
      const doc = (await assertRemoteFile(init, "document", bytes)).documentMessage!;
      assert.deepEqual([doc.fileName, doc.mimetype, doc.caption], ["notes.pdf", "application/pdf", ""]);
    });

    it("carries a voice message as a voice note with seconds and waveform", async () => {
      const bytes = randomBytes(30_000);
      const url = await uploadPlain(bytes, "audio/ogg");
      const init = await media.toRemote("@alice:x", { msgtype: "m.audio", body: "Voice message", url, info: { mimetype: "audio/ogg", duration: 5400 }, "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: 5400, waveform: Array.from({ length: 100 }, (_, i) => i * 10) } });
      const audio = (await assertRemoteFile(init, "audio", bytes)).audioMessage!;
      assert.deepEqual([audio.ptt, audio.seconds, audio.waveform.length, audio.mimetype], [true, 5, 64, "audio/ogg"]);
    });

    it("refuses files over the limit, whether they say so or not", async () => {
      const big = randomBytes(MAX + 1);
      const url = await uploadPlain(big);
      await assert.rejects(media.toRemote("@alice:x", { msgtype: "m.file", body: "big.bin", url, info: { size: big.length } }), (e: MediaError) => e instanceof MediaError && /larger than this bridge's limit of 2 MB/.test(e.userMessage));
      await assert.rejects(media.toRemote("@alice:x", { msgtype: "m.file", body: "big.bin", url, info: { size: 10 } }), (e: MediaError) => /limit of 2 MB/.test(e.userMessage));
      const { ciphertext, keys } = encryptAttachment(big);
      const file = { ...keys, url: await uploadPlain(ciphertext) };
      await assert.rejects(media.toRemote("@alice:x", { msgtype: "m.file", body: "big.bin", file }), (e: MediaError) => /limit of 2 MB/.test(e.userMessage));
    });

    it("refuses an encrypted attachment that does not match its hash, and a file that is not there", async () => {
      const { ciphertext, keys } = encryptAttachment(randomBytes(10_000));
      ciphertext[5000]! ^= 1;
      const file = { ...keys, url: await uploadPlain(ciphertext) };
      await assert.rejects(media.toRemote("@alice:x", { msgtype: "m.image", body: "x.png", file }), (e: MediaError) => e instanceof MediaError && /integrity check/.test(e.userMessage));
      await assert.rejects(media.toRemote("@alice:x", { msgtype: "m.image", body: "x.png", url: `mxc://${env.synapse.serverName}/doesnotexist` }), (e: MediaError) => e instanceof MediaError && /not available/.test(e.userMessage));
    });
  });

  describe("remote -> Matrix", () => {
    it("posts an image with caption, dimensions and thumbnail in an unencrypted room", async () => {
      const bytes = randomBytes(400_000);
      const { message } = await remoteMessage("image", bytes, { mimetype: "image/jpeg", caption: "from the phone", width: 1024, height: 768, jpegThumbnail: JPEG });
      const content = await media.toMatrix(puppet, whatsAppMedia(message), false);
      assert.equal(content.msgtype, "m.image");
      assert.equal(content.body, "from the phone");
      assert.equal(content.filename, "image.jpg");
      const info = content.info as Record<string, unknown>;
      assert.deepEqual([info.mimetype, info.size, info.w, info.h], ["image/jpeg", bytes.length, 1024, 768]);
      assert.deepEqual(await downloadMatrix(content.url as string), bytes);
      assert.deepEqual(info.thumbnail_info, { mimetype: "image/jpeg", size: JPEG.length, w: 64, h: 48 });
      assert.deepEqual(await downloadMatrix(info.thumbnail_url as string), JPEG);
    });

    it("posts an encrypted attachment (and thumbnail) in an encrypted room, never the plain file", async () => {
      const bytes = randomBytes(900_000);
      const { message } = await remoteMessage("video", bytes, { mimetype: "video/mp4", seconds: 12, jpegThumbnail: JPEG });
      const content = await media.toMatrix(puppet, whatsAppMedia(message), true);
      assert.equal(content.url, undefined);
      assert.equal(content.msgtype, "m.video");
      assert.equal((content.info as { duration?: number }).duration, 12_000);
      const file = content.file as EncryptedFile;
      const onServer = await downloadMatrix(file.url);
      assert.notDeepEqual(onServer.subarray(0, 64), bytes.subarray(0, 64));
      assert.deepEqual(decryptAttachment(onServer, file), bytes);
      const thumbFile = (content.info as { thumbnail_file: EncryptedFile }).thumbnail_file;
      assert.deepEqual(decryptAttachment(await downloadMatrix(thumbFile.url), thumbFile), JPEG);
    });

    it("posts voice notes as Matrix voice messages and documents with their name", async () => {
      const voiceBytes = randomBytes(12_345);
      const { message: voice } = await remoteMessage("audio", voiceBytes, { mimetype: "audio/ogg; codecs=opus", seconds: 3, ptt: true, waveform: Uint8Array.from([0, 25, 50, 100]) });
      const v = await media.toMatrix(puppet, whatsAppMedia(voice), false);
      assert.equal(v.msgtype, "m.audio");
      assert.deepEqual(v["org.matrix.msc3245.voice"], {});
      assert.deepEqual(v["org.matrix.msc1767.audio"], { duration: 3000, waveform: [0, 256, 512, 1024] });
      assert.deepEqual(await downloadMatrix(v.url as string), voiceBytes);

      const docBytes = randomBytes(5000);
      // A sender that does not state the length: the bridge still posts it (spooled, size-capped).
      const { message: doc } = await remoteMessage("document", docBytes, { mimetype: "text/csv", fileName: "data.csv" }, 0);
      const d = await media.toMatrix(puppet, whatsAppMedia(doc), false);
      assert.deepEqual([d.msgtype, d.body, d.filename, (d.info as { size: number }).size], ["m.file", "data.csv", "data.csv", docBytes.length]);
      assert.deepEqual(await downloadMatrix(d.url as string), docBytes);
    });

    it("spools a file of unknown length instead of holding it, and deletes the spool after success and failure", async () => {
      const spoolDir = mkdtempSync(join(env.tmpDir, "spool-"));
      try {
        const spooled = (c: MatrixClient) => new MediaBridge({ client: c, botUserId: bot, gatekeeper: new GatekeeperMedia({ baseUrl: gk.url, api, tokens }), maxBytes: MAX, networkName: "WhatsApp", log: pino({ level: "silent" }), spoolDir, spoolMemoryBytes: 1024 });
        const bytes = randomBytes(600_000);
        const { message } = await remoteMessage("document", bytes, { mimetype: "application/pdf", fileName: "big.pdf" }, 0);
        const posted = await spooled(client).toMatrix(puppet, whatsAppMedia(message), false);
        assert.equal((posted.info as { size: number }).size, bytes.length);
        assert.deepEqual(await downloadMatrix(posted.url as string), bytes);
        assert.deepEqual(readdirSync(spoolDir), [], "the spool is gone after the upload");

        // The upload fails after the file was spooled (the homeserver refuses the token): the spool goes too.
        const refused = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: "wrong-token", logger: pino({ level: "silent" }) });
        await assert.rejects(spooled(refused).toMatrix(puppet, whatsAppMedia(message), false));
        assert.deepEqual(readdirSync(spoolDir), [], "the spool is gone after a failed upload");

        // Past the limit while streaming: refused, nothing left behind.
        const { message: tooBig } = await remoteMessage("document", randomBytes(MAX + 100), { fileName: "x" }, 0);
        await assert.rejects(spooled(client).toMatrix(puppet, whatsAppMedia(tooBig), false), (e: MediaError) => /limit of 2 MB/.test(e.userMessage));
        assert.deepEqual(readdirSync(spoolDir), []);
      } finally {
        rmSync(spoolDir, { recursive: true, force: true });
      }
    });

    it("rejects a tampered file before Matrix sees a byte of it", async () => {
      const { message, mediaId } = await remoteMessage("image", randomBytes(100_000), { mimetype: "image/png" });
      await gk.tamperMedia(mediaId);
      await assert.rejects(media.toMatrix(puppet, whatsAppMedia(message), false), (e: MediaError) => e instanceof MediaError && /integrity check/.test(e.userMessage));
      // A message that lies about the length is as bad as a changed file.
      const lying = await remoteMessage("image", randomBytes(1000), { mimetype: "image/png" }, 999);
      await assert.rejects(media.toMatrix(puppet, whatsAppMedia(lying.message), false), (e: MediaError) => /integrity check/.test(e.userMessage));
    });

    it("refuses files over the limit and tells missing files from an unreachable media service", async () => {
      const big = await remoteMessage("document", Buffer.alloc(10), { fileName: "x" }, MAX + 1);
      await assert.rejects(media.toMatrix(puppet, whatsAppMedia(big.message), false), (e: MediaError) => /limit of 2 MB/.test(e.userMessage));
      const { message: unstated } = await remoteMessage("document", randomBytes(MAX + 100), { fileName: "x" }, 0);
      await assert.rejects(media.toMatrix(puppet, whatsAppMedia(unstated), false), (e: MediaError) => /limit of 2 MB/.test(e.userMessage));
      const gone = create(MessageSchema, { imageMessage: { ...(await remoteMessage("image", Buffer.alloc(5))).message.imageMessage!, directPath: "/v1/media/AAAAAAAAAAAAAAAAAAAAAA" } });
      await assert.rejects(media.toMatrix(puppet, whatsAppMedia(gone), false), (e: MediaError) => /no longer available/.test(e.userMessage));

      const offline = new MediaBridge({
        client,
        botUserId: bot,
        gatekeeper: new GatekeeperMedia({ baseUrl: "http://127.0.0.1:9", api: new GatekeeperApi({ baseUrl: "http://127.0.0.1:9", tokens: new ProviderTokens("x", generateKeyPairSync("ed25519").privateKey, { gatekeeperUrl: "http://127.0.0.1:9" }) }), tokens: new ProviderTokens("x", generateKeyPairSync("ed25519").privateKey, { gatekeeperUrl: "http://127.0.0.1:9" }) }),
        maxBytes: MAX,
        networkName: "WhatsApp",
        log: pino({ level: "silent" }),
      });
      const { message } = await remoteMessage("image", Buffer.alloc(5));
      await assert.rejects(offline.toMatrix(puppet, whatsAppMedia(message), false), (e: Error) => e instanceof GatekeeperHttpError && e.unreachable, "transient: left for the queue to retry");
    });
  });

  describe("stickers", () => {
    it("a Matrix PNG sticker goes as a WebP stickerMessage whose file is the converted sticker", async () => {
      const png = await sharp({ create: { width: 64, height: 32, channels: 4, background: { r: 9, g: 9, b: 9, alpha: 1 } } }).png().toBuffer();
      const out = await media.stickerToRemote("@alice:x", { body: "cat", url: await uploadPlain(png, "image/png"), info: { mimetype: "image/png", size: png.length } });
      assert.equal(out.asImage, undefined);
      const s = decodeContent(encodeContent({ message: mediaMessageOf(out.media) })).message!.stickerMessage!;
      assert.deepEqual([s.mimetype, s.width, s.height, s.isAnimated], ["image/webp", 512, 512, false]);
      const upload = new Uint8Array(await (await api.downloadMedia(/^\/v1\/media\/(.+)$/.exec(s.directPath)![1]!)).arrayBuffer());
      const meta = await sharp(decryptMedia(upload, "image", s)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["webp", 512, 512]);
    });

    it("a WhatsApp sticker that is no readable image is posted as it came, still a sticker, without the animated flag", async () => {
      const bytes = randomBytes(1500);
      const enc = encryptMedia(bytes, "image");
      const mediaId = await api.uploadMedia(enc.upload);
      const message = create(MessageSchema, { stickerMessage: { mediaKey: enc.mediaKey, fileSha256: enc.fileSha256, fileEncSha256: enc.fileEncSha256, fileLength: BigInt(enc.fileLength), directPath: `/v1/media/${mediaId}`, mimetype: "image/webp" } });
      const content = await media.toMatrix(puppet, whatsAppMedia(message), false);
      const info = content.info as Record<string, unknown>;
      assert.deepEqual([info.mimetype, info.size, content.body, "org.matrix.msc4230.is_animated" in info], ["image/webp", bytes.length, "sticker.webp", false]);
      assert.deepEqual(await downloadMatrix(content.url as string), bytes);
    });
  });
});
