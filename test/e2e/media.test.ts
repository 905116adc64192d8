// Media both ways through the real bridge process: a matrix-js-sdk user on the harness Synapse and simulated phone
// users of a real gatekeeper, in an unencrypted and in an encrypted portal. Every file is compared byte for byte
// after the crossing; oversized and tampered files are refused with a notice and never posted.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { CryptoTestUser } from "../matrix/crypto-client.js";
import { decryptLikeAClient, download, encryptLikeAClient, sha256, upload, type EncryptedFile } from "./attachments.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112340101";
const BEN = "+4915112340102";
const CARL = "+4915112340103";
const LIMIT_MB = 3;

/** A JPEG header with a 64x48 frame: enough for a thumbnail the bridge can measure. */
const THUMB = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), randomBytes(14), Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x30, 0x00, 0x40]), randomBytes(300)]);

type MediaJson = { mimetype?: string; caption?: string; fileName?: string; seconds?: number; ptt?: boolean; width?: number; height?: number; waveform?: string; jpegThumbnail?: string };
type Received = { message?: { imageMessage?: MediaJson; videoMessage?: MediaJson; audioMessage?: MediaJson; documentMessage?: MediaJson; conversation?: string } };
describe("bridge end to end: media both ways", function () {
  this.timeout(120_000);

  describe("in an unencrypted portal", () => {
    let w: World;
    let room: string;
    let failed = false;
    const mediaOf = (c: Received) => c.message?.imageMessage ?? c.message?.videoMessage ?? c.message?.audioMessage ?? c.message?.documentMessage;
    const annaGotFile = (what: string, pred: (m: MediaJson) => boolean) =>
      w.gk.waitForMessage(ANNA, (m) => m.deviceId === 1 && mediaOf(m.content as Received) !== undefined && pred(mediaOf(m.content as Received)!), 30_000).catch((e: Error) => {
        throw new Error(`${what}: ${e.message}`);
      });

    before(async function () {
      this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
      w = await startWorld("media", [{ phone: ANNA, name: "Anna" }], { bridge: { max_media_size_mb: LIMIT_MB } });
      room = await w.user.createDm(w.puppet(ANNA));
      await w.user.waitFor("the puppet to join", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "join" ? true : undefined));
    });
    afterEach(function () {
      if (this.currentTest?.state === "failed") failed = true;
    });
    after(async () => {
      if (failed && w) console.error(w.bridge.logs.slice(-6000));
      await w?.stop();
    });

    it("sends an image with caption and dimensions from Matrix, byte for byte", async () => {
      const bytes = randomBytes(2_500_000);
      const url = await upload(w.user.client, bytes, "image/png", "garden.png");
      await w.user.send(room, "m.room.message", { msgtype: "m.image", body: "our garden", filename: "garden.png", url, info: { mimetype: "image/png", size: bytes.length, w: 1600, h: 1200 } });
      const got = await annaGotFile("the image", (m) => m.caption === "our garden");
      const image = (got.content as Received).message!.imageMessage!;
      assert.deepEqual([image.mimetype, image.width, image.height], ["image/png", 1600, 1200]);
      assert.deepEqual(got.media, { kind: "image", mediaId: got.media!.mediaId, mimetype: "image/png", ok: true, sha256: sha256(bytes), length: bytes.length });
      assert.deepEqual(Buffer.from((await w.gk.receivedMedia(ANNA, got.messageId)).bytes), bytes);
    });

    it("sends a file with its name and a voice message with duration and waveform from Matrix", async () => {
      const doc = randomBytes(123_456);
      await w.user.send(room, "m.room.message", { msgtype: "m.file", body: "minutes.pdf", url: await upload(w.user.client, doc, "application/pdf"), info: { mimetype: "application/pdf", size: doc.length } });
      const gotDoc = await annaGotFile("the file", (m) => m.fileName === "minutes.pdf");
      assert.equal(gotDoc.media?.ok, true);
      assert.equal(gotDoc.media?.sha256, sha256(doc));
      assert.equal(((gotDoc.content as Received).message!.documentMessage!).mimetype, "application/pdf");

      const voice = randomBytes(40_000);
      const waveform = Array.from({ length: 128 }, (_, i) => (i % 2 ? 1024 : 0));
      await w.user.send(room, "m.room.message", {
        msgtype: "m.audio",
        body: "Voice message",
        url: await upload(w.user.client, voice, "audio/ogg"),
        info: { mimetype: "audio/ogg", size: voice.length, duration: 6200 },
        "org.matrix.msc1767.audio": { duration: 6200, waveform },
        "org.matrix.msc3245.voice": {},
      });
      const gotVoice = await annaGotFile("the voice note", (m) => m.ptt === true);
      const audio = (gotVoice.content as Received).message!.audioMessage!;
      assert.equal(audio.seconds, 6);
      assert.equal(Buffer.from(audio.waveform!, "base64").length, 64);
      assert.deepEqual(Buffer.from((await w.gk.receivedMedia(ANNA, gotVoice.messageId)).bytes), voice);
    });

    it("posts an image with caption, dimensions and thumbnail from WhatsApp, byte for byte", async () => {
      const bytes = randomBytes(1_800_000);
      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "image", data: bytes, mimetype: "image/jpeg", caption: "look at this", width: 4000, height: 3000, thumbnail: THUMB });
      const ev = await w.user.waitForEvent("the image", (e) => e.roomId === room && e.content.msgtype === "m.image" && e.content.body === "look at this", 30_000);
      assert.equal(ev.sender, w.puppet(ANNA));
      const info = ev.content.info as Record<string, unknown>;
      assert.deepEqual([info.mimetype, info.size, info.w, info.h], ["image/jpeg", bytes.length, 4000, 3000]);
      assert.deepEqual(await download(w.user.client, ev.content.url as string), bytes);
      assert.deepEqual(info.thumbnail_info, { mimetype: "image/jpeg", size: THUMB.length, w: 64, h: 48 });
      assert.deepEqual(await download(w.user.client, info.thumbnail_url as string), THUMB);
    });

    it("posts videos, voice notes, other audio and documents from WhatsApp with the right msgtype and info", async () => {
      const video = randomBytes(600_000);
      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "video", data: video, mimetype: "video/mp4", caption: "the clip", seconds: 14, width: 1280, height: 720 });
      const fromAnna = (e: { roomId: string; sender: string }) => e.roomId === room && e.sender === w.puppet(ANNA);
      const v = await w.user.waitForEvent("the video", (e) => fromAnna(e) && e.content.msgtype === "m.video", 30_000);
      assert.equal(v.content.body, "the clip");
      assert.deepEqual(v.content.info, { mimetype: "video/mp4", size: video.length, w: 1280, h: 720, duration: 14_000 });
      assert.deepEqual(await download(w.user.client, v.content.url as string), video);

      const voice = randomBytes(25_000);
      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "audio", data: voice, mimetype: "audio/ogg; codecs=opus", seconds: 9, ptt: true, waveform: [0, 50, 100, 25] });
      const vn = await w.user.waitForEvent("the voice note", (e) => fromAnna(e) && e.content.msgtype === "m.audio" && e.content["org.matrix.msc3245.voice"] !== undefined, 30_000);
      assert.deepEqual(vn.content["org.matrix.msc1767.audio"], { duration: 9000, waveform: [0, 512, 1024, 256] });
      assert.equal((vn.content.info as { duration?: number }).duration, 9000);
      assert.deepEqual(await download(w.user.client, vn.content.url as string), voice);

      const song = randomBytes(70_000);
      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "audio", data: song, mimetype: "audio/mpeg", seconds: 200 });
      const s = await w.user.waitForEvent("the song", (e) => fromAnna(e) && e.content.msgtype === "m.audio" && (e.content.info as { mimetype?: string }).mimetype === "audio/mpeg", 30_000);
      assert.equal(s.content["org.matrix.msc3245.voice"], undefined, "not a voice message");
      assert.equal(s.content.body, "audio.mp3");
      assert.deepEqual(await download(w.user.client, s.content.url as string), song);

      const doc = randomBytes(9_999);
      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "document", data: doc, mimetype: "text/plain", fileName: "notes.txt", caption: "my notes" });
      const d = await w.user.waitForEvent("the document", (e) => fromAnna(e) && e.content.msgtype === "m.file", 30_000);
      assert.deepEqual([d.content.body, d.content.filename, (d.content.info as { size?: number }).size], ["my notes", "notes.txt", doc.length]);
      assert.deepEqual(await download(w.user.client, d.content.url as string), doc);
    });

    it("refuses files over bridge.max_media_size_mb both ways, with a notice", async () => {
      const big = randomBytes(LIMIT_MB * 1024 * 1024 + 1000);
      await w.user.send(room, "m.room.message", { msgtype: "m.file", body: "huge.bin", url: await upload(w.user.client, big, "application/octet-stream"), info: { size: big.length } });
      const out = await w.user.waitForEvent("the outgoing notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && /Not delivered: the file is larger than this bridge's limit of 3 MB/.test(String(e.content.body)), 30_000);
      assert.equal(out.sender, w.puppet(ANNA));

      await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "document", data: big, fileName: "huge-from-anna.bin" });
      await w.user.waitForEvent("the incoming notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && /sent a file that could not be bridged: the file is larger than this bridge's limit of 3 MB/.test(String(e.content.body)), 30_000);
      assert.equal(w.user.messagesIn(room).some((e) => e.content.filename === "huge-from-anna.bin"), false);
    });

    it("rejects a tampered file from WhatsApp: a notice, nothing posted", async () => {
      // The bridge is stopped so the file can be changed on the media service before the bridge fetches it.
      await w.bridge.stop();
      const sent = await w.gk.sendMediaAs(ANNA, w.userUri, { kind: "image", data: randomBytes(200_000), mimetype: "image/png", caption: "tampered on the way" });
      await w.gk.tamperMedia(sent.mediaId);
      await w.gk.sendAs(ANNA, { to: w.userUri, text: "after the tampered one" });
      await w.bridge.start();
      const notice = await w.user.waitForEvent("the integrity notice", (e) => e.roomId === room && e.content.msgtype === "m.notice" && /sent an image that could not be bridged: the file failed its integrity check/.test(String(e.content.body)), 60_000);
      assert.equal(notice.sender, w.puppet(ANNA));
      await w.user.waitForEvent("the next message", (e) => e.roomId === room && e.content.body === "after the tampered one", 30_000);
      assert.equal(w.user.messagesIn(room).some((e) => e.content.body === "tampered on the way"), false, "the tampered image was not posted");
    });
  });

  describe("in an encrypted portal", () => {
    let w: World;
    let alice: CryptoTestUser;
    let aliceUri: string;
    let room: string;
    let failed = false;

    before(async function () {
      this.timeout(TEST_ENV_TIMEOUT_MS + 90_000);
      w = await startWorld("emedia", [{ phone: BEN, name: "Ben" }, { phone: CARL, name: "Carl" }], { bridge: { encryption: { default: true, allow: true } } });
      alice = await CryptoTestUser.create(w.env.synapse, `emedia${Date.now() % 1_000_000}`);
      aliceUri = `matrix:u/${alice.userId.slice(1)}`;
      const mgmt = await alice.createEncryptedDm(w.bot);
      await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"), 30_000);
      await alice.waitForMember(mgmt, w.bot);
      await alice.sendText(mgmt, `start-chat ${BEN}`);
      room = await alice.acceptInviteFrom(w.puppet(BEN), 30_000);
      await alice.waitForMember(room, w.puppet(BEN));
    });
    afterEach(function () {
      if (this.currentTest?.state === "failed") failed = true;
    });
    after(async () => {
      alice?.stop();
      if (failed && w) console.error(w.bridge.logs.slice(-6000));
      await w?.stop();
    });

    it("sends an encrypted attachment from Matrix; the phone gets the same bytes", async () => {
      const bytes = randomBytes(1_200_000);
      const { ciphertext, file } = await encryptLikeAClient(bytes);
      const url = await upload(alice.client, ciphertext, "application/octet-stream");
      const eventId = (await alice.client.sendEvent(room, "m.room.message" as never, { msgtype: "m.image", body: "secret plan", filename: "plan.png", file: { ...file, url }, info: { mimetype: "image/png", size: bytes.length, w: 10, h: 20 } } as never)).event_id;
      const onServer = await alice.client.fetchRoomEvent(room, eventId);
      assert.equal(onServer.type, "m.room.encrypted", "the event itself is encrypted");
      const got = await w.gk.waitForMessage(BEN, (m) => (m.content as Received).message?.imageMessage?.caption === "secret plan", 30_000);
      assert.equal(got.sender, aliceUri);
      assert.equal(got.media?.sha256, sha256(bytes));
      assert.deepEqual(Buffer.from((await w.gk.receivedMedia(BEN, got.messageId)).bytes), bytes);
    });

    it("posts files from WhatsApp as encrypted attachments (thumbnail too), never as plain media", async () => {
      const bytes = randomBytes(800_000);
      await w.gk.sendMediaAs(BEN, aliceUri, { kind: "image", data: bytes, mimetype: "image/jpeg", caption: "for your eyes only", width: 300, height: 200, thumbnail: THUMB });
      const ev = await alice.waitForEvent("the image", (e) => e.roomId === room && e.content.msgtype === "m.image" && e.content.body === "for your eyes only", 30_000);
      assert.equal(ev.encrypted, true);
      assert.equal(ev.content.url, undefined, "no plain URL in an encrypted room");
      const file = ev.content.file as EncryptedFile;
      const onServer = await download(alice.client, file.url);
      assert.notDeepEqual(onServer.subarray(0, 100), bytes.subarray(0, 100), "only ciphertext on the homeserver");
      assert.deepEqual(await decryptLikeAClient(onServer, file), bytes);
      const info = ev.content.info as { thumbnail_url?: string; thumbnail_file: EncryptedFile };
      assert.equal(info.thumbnail_url, undefined);
      assert.deepEqual(await decryptLikeAClient(await download(alice.client, info.thumbnail_file.url), info.thumbnail_file), THUMB);

      const voice = randomBytes(15_000);
      await w.gk.sendMediaAs(BEN, aliceUri, { kind: "audio", data: voice, mimetype: "audio/ogg", seconds: 2, ptt: true, waveform: [100, 0] });
      const vn = await alice.waitForEvent("the voice note", (e) => e.roomId === room && e.content["org.matrix.msc3245.voice"] !== undefined, 30_000);
      assert.deepEqual(vn.content["org.matrix.msc1767.audio"], { duration: 2000, waveform: [1024, 0] });
      assert.deepEqual(await decryptLikeAClient(await download(alice.client, (vn.content.file as EncryptedFile).url), vn.content.file as EncryptedFile), voice);
    });

    it("also encrypts files in an encrypted DM the user created by inviting the puppet", async () => {
      // The room's encryption event comes before the invite, when the room is not a portal yet.
      const dm = await alice.createEncryptedDm(w.puppet(CARL));
      await alice.waitForMember(dm, w.puppet(CARL));
      await alice.sendText(dm, "hello Carl");
      await w.gk.waitForMessage(CARL, (m) => (m.content as Received).message?.conversation === "hello Carl", 30_000);
      const bytes = randomBytes(50_000);
      await w.gk.sendMediaAs(CARL, aliceUri, { kind: "document", data: bytes, mimetype: "application/pdf", fileName: "contract.pdf" });
      const ev = await alice.waitForEvent("the document", (e) => e.roomId === dm && e.content.msgtype === "m.file", 30_000);
      assert.equal(ev.content.url, undefined, "no plain URL in an encrypted room");
      const file = ev.content.file as EncryptedFile;
      assert.deepEqual(await decryptLikeAClient(await download(alice.client, file.url), file), bytes);
    });
  });
});
