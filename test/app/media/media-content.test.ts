// Media metadata both ways: Matrix content (captions, voice messages, thumbnails, encrypted files) <-> interop media
// messages, with everything the bridge builds passing the protocol's own validation.
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Readable } from "node:stream";
import { MediaError } from "../../../src/core/ports.js";
import { decodeContent, encodeContent } from "../../../src/protocol/content.js";
import { MessageSchema } from "../../../src/protocol/gen/content_pb.js";
import { encryptMedia } from "../../../src/protocol/media-crypto.js";
import { limitBytes, MediaTooLargeError } from "../../../src/app/media/byte-limit.js";
import { encryptedLength, incomingMatrixMedia, remoteKindFor, remoteMediaMessage, remoteMediaOf, waveformToMatrix, waveformToRemote } from "../../../src/app/media/interop-media.js";
import { encryptAttachment } from "../../../src/app/media/matrix-attachments.js";
import { matrixMediaContent, parseMatrixMedia } from "../../../src/app/media/matrix-content.js";
import { describeLimit, mediaErrorOf } from "../../../src/app/media/media-errors.js";
import { GatekeeperHttpError } from "../../../src/interop/errors.js";

const MXC = "mxc://example.org/media1";

describe("media metadata", () => {
  describe("reading Matrix media messages", () => {
    it("tells a caption from a file name (Matrix 1.10 media captions)", () => {
      const captioned = parseMatrixMedia({ msgtype: "m.image", body: "sunset", filename: "IMG_1.jpg", url: MXC, info: { mimetype: "image/jpeg", size: 1234, w: 640, h: 480 } });
      assert.equal(captioned.caption, "sunset");
      assert.equal(captioned.fileName, "IMG_1.jpg");
      assert.deepEqual([captioned.width, captioned.height, captioned.size, captioned.mimetype], [640, 480, 1234, "image/jpeg"]);
      assert.deepEqual(captioned.source, { encrypted: false, mxc: MXC });
      const plain = parseMatrixMedia({ msgtype: "m.file", body: "report.pdf", url: MXC });
      assert.equal(plain.caption, undefined);
      assert.equal(plain.fileName, "report.pdf");
      const same = parseMatrixMedia({ msgtype: "m.file", body: "a.txt", filename: "a.txt", url: MXC });
      assert.equal(same.caption, undefined);
    });

    it("reads voice messages (MSC3245 + MSC1767 audio) and tolerates odd info fields", () => {
      const voice = parseMatrixMedia({
        msgtype: "m.audio",
        body: "Voice message",
        url: MXC,
        info: { mimetype: "audio/ogg", duration: "long", size: -1, w: 10 },
        "org.matrix.msc3245.voice": {},
        "org.matrix.msc1767.audio": { duration: 4200, waveform: [0, 512, 1024] },
      });
      assert.equal(voice.voice, true);
      assert.equal(voice.durationMs, 4200);
      assert.deepEqual(voice.waveform, [0, 512, 1024]);
      assert.equal(voice.size, undefined, "a negative size is ignored, not trusted");
      const music = parseMatrixMedia({ msgtype: "m.audio", body: "song.mp3", url: MXC, info: { duration: 180_000 } });
      assert.equal(music.voice, false);
      assert.equal(music.waveform, undefined);
    });

    it("reads encrypted files and thumbnails, and keeps a bad thumbnail from stopping the file", () => {
      const { keys } = encryptAttachment(Buffer.from("x"));
      const file = { ...keys, url: MXC };
      const m = parseMatrixMedia({ msgtype: "m.image", body: "i.png", file, info: { thumbnail_file: { ...keys, url: "mxc://example.org/t" }, thumbnail_info: { mimetype: "image/jpeg", size: 99 } } });
      assert.deepEqual(m.source, { encrypted: true, file });
      assert.deepEqual(m.thumbnail, { source: { encrypted: true, file: { ...keys, url: "mxc://example.org/t" } }, mimetype: "image/jpeg", size: 99 });
      const broken = parseMatrixMedia({ msgtype: "m.image", body: "i.png", url: MXC, info: { thumbnail_file: { nonsense: true } } });
      assert.equal(broken.thumbnail, undefined);
    });

    it("refuses media it cannot fetch, with a message for the user", () => {
      assert.throws(() => parseMatrixMedia({ msgtype: "m.image", body: "x" }), (e: MediaError) => e instanceof MediaError && /no valid mxc/.test(e.userMessage));
      assert.throws(() => parseMatrixMedia({ msgtype: "m.image", body: "x", url: "https://evil/x" }), MediaError);
      assert.throws(() => parseMatrixMedia({ msgtype: "m.file", body: "x", file: { url: MXC, v: "v1" } }), (e: MediaError) => /encrypted in a way this bridge cannot read \(file\./.test(e.userMessage));
    });

    it("names files without a name and strips path separators", () => {
      assert.equal(parseMatrixMedia({ msgtype: "m.image", body: "", url: MXC, info: { mimetype: "image/png" } }).fileName, "image.png");
      assert.equal(parseMatrixMedia({ msgtype: "m.file", body: "../../etc/passwd", url: MXC }).fileName, ".._.._etc_passwd");
    });
  });

  describe("building interop media messages", () => {
    const digest = encryptMedia(Buffer.from("hello"), "image");
    const uploaded = (kind: "image" | "video" | "audio" | "document") => ({ kind, digest, directPath: "/v1/media/abcDEF123_-", mimetype: "x/y" });
    const roundTrip = (init: ReturnType<typeof remoteMediaMessage>) => decodeContent(encodeContent({ message: init })).message!;

    it("builds each kind so that it passes the protocol's validation, with a reply's context", () => {
      const quote = { stanzaId: "0123456789ABCDEF0123456789ABCDEF", participant: "tel:+4915112345678" };
      const image = roundTrip(remoteMediaMessage(parseMatrixMedia({ msgtype: "m.image", body: "cap", filename: "a.jpg", url: MXC, info: { w: 3, h: 4 } }), uploaded("image"), quote)).imageMessage!;
      assert.deepEqual([image.caption, image.width, image.height, image.directPath, image.fileLength], ["cap", 3, 4, "/v1/media/abcDEF123_-", 5n]);
      assert.equal(image.contextInfo?.stanzaId, quote.stanzaId);
      const video = roundTrip(remoteMediaMessage(parseMatrixMedia({ msgtype: "m.video", body: "v.mp4", url: MXC, info: { duration: 2600 } }), uploaded("video"))).videoMessage!;
      assert.equal(video.seconds, 3);
      const doc = roundTrip(remoteMediaMessage(parseMatrixMedia({ msgtype: "m.file", body: "see this", filename: "r.pdf", url: MXC }), uploaded("document"))).documentMessage!;
      assert.deepEqual([doc.fileName, doc.title, doc.caption], ["r.pdf", "r.pdf", "see this"]);
      const voiceMedia = parseMatrixMedia({ msgtype: "m.audio", body: "v", url: MXC, "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: 400, waveform: [1024, 0] } });
      const voice = roundTrip(remoteMediaMessage(voiceMedia, uploaded("audio"))).audioMessage!;
      assert.deepEqual([voice.ptt, voice.seconds, [...voice.waveform]], [true, 1, [100, 0]]);
    });

    it("sends a captioned audio file as a document, so the caption is not lost", () => {
      assert.equal(remoteKindFor(parseMatrixMedia({ msgtype: "m.audio", body: "listen!", filename: "song.mp3", url: MXC })), "document");
      assert.equal(remoteKindFor(parseMatrixMedia({ msgtype: "m.audio", body: "song.mp3", url: MXC })), "audio");
    });

    it("resamples waveforms to WhatsApp's 64 samples of 0..100 and back to 0..1024", () => {
      const long = Array.from({ length: 640 }, (_, i) => (i < 320 ? 1024 : 0));
      const remote = waveformToRemote(long);
      assert.equal(remote.length, 64);
      assert.deepEqual([remote[0], remote[31], remote[32], remote[63]], [100, 100, 0, 0]);
      assert.deepEqual(waveformToMatrix(Uint8Array.from([0, 50, 100, 255])), [0, 512, 1024, 1024]);
    });
  });

  describe("reading interop media messages", () => {
    const digest = encryptMedia(Buffer.from("hello"), "audio");
    const base = { mediaKey: digest.mediaKey, fileSha256: digest.fileSha256, fileEncSha256: digest.fileEncSha256, fileLength: 5n, directPath: "/v1/media/XYZ" };

    it("maps a voice note to a Matrix voice message and a document to a named file", () => {
      const voice = remoteMediaOf(create(MessageSchema, { audioMessage: { ...base, mimetype: "audio/ogg", seconds: 4, ptt: true, waveform: Uint8Array.from([0, 100]) } }));
      assert.equal(voice.mediaId, "XYZ");
      const incoming = incomingMatrixMedia(voice, 5);
      assert.deepEqual(incoming, { msgtype: "m.audio", fileName: "audio.ogg", mimetype: "audio/ogg", size: 5, durationMs: 4000, voice: { waveform: [0, 1024] } });
      const content = matrixMediaContent(incoming, { url: MXC });
      assert.deepEqual(content["org.matrix.msc1767.audio"], { duration: 4000, waveform: [0, 1024] });
      assert.deepEqual(content["org.matrix.msc3245.voice"], {});
      assert.equal(content.body, "audio.ogg");
      assert.deepEqual(content.info, { mimetype: "audio/ogg", size: 5, duration: 4000 });

      const doc = remoteMediaOf(create(MessageSchema, { documentMessage: { ...base, mimetype: "application/pdf", fileName: "a/b.pdf", caption: "read it" } }));
      const docContent = matrixMediaContent(incomingMatrixMedia(doc, 5), { file: { ...encryptAttachment(Buffer.from("x")).keys, url: MXC } });
      assert.deepEqual([docContent.msgtype, docContent.body, docContent.filename, docContent.url], ["m.file", "read it", "a_b.pdf", undefined]);
      assert.equal((docContent.file as { url: string }).url, MXC);
    });

    it("finds the file through url when there is no direct_path, and refuses a message that names none", () => {
      const viaUrl = remoteMediaOf(create(MessageSchema, { imageMessage: { ...base, directPath: "", url: "https://gk.example/v1/media/Abc_1" } }));
      assert.equal(viaUrl.mediaId, "Abc_1");
      assert.throws(() => remoteMediaOf(create(MessageSchema, { imageMessage: { ...base, directPath: "/elsewhere/x" } })), (e: MediaError) => /where its file is stored/.test(e.userMessage));
      assert.throws(() => remoteMediaOf(create(MessageSchema, { conversation: "hi" })), MediaError);
    });
  });

  describe("limits and errors", () => {
    it("counts the upload size and stops streams past the limit", async () => {
      assert.equal(encryptedLength(0), 26);
      assert.equal(encryptedLength(15), 26);
      assert.equal(encryptedLength(16), 42);
      assert.equal(encryptMedia(Buffer.alloc(1000), "video").upload.length, encryptedLength(1000));
      const chunks = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
      await assert.rejects(async () => {
        for await (const _ of limitBytes(1000)(chunks)) void _;
      }, MediaTooLargeError);
    });

    it("tells the user about refusals and keeps transient failures for a retry", () => {
      assert.equal(describeLimit(100 * 1024 * 1024), "100 MB");
      assert.equal(describeLimit(2.5 * 1024 * 1024), "2.5 MB");
      assert.match(mediaErrorOf(new MediaTooLargeError(5 * 1024 * 1024), 5 * 1024 * 1024, "WhatsApp")!.userMessage, /larger than this bridge's limit of 5 MB/);
      assert.match(mediaErrorOf(new GatekeeperHttpError(413, "TOO_LARGE", "x"), 1, "WhatsApp")!.userMessage, /larger than WhatsApp's media service accepts/);
      assert.equal(mediaErrorOf(new GatekeeperHttpError(0, "UNREACHABLE", "x"), 1, "WhatsApp"), undefined);
      assert.equal(mediaErrorOf(new Error("socket hang up"), 1, "WhatsApp"), undefined);
    });
  });
});
