// Simulated users chatting with each other (tel: -> tel: inside the gatekeeper) and sending media, both to another
// simulated user and to a provider's Matrix user (real libsignal, decrypted here and checked against the upload).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AdminApiError, GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { describeReceived } from "../../src/gatekeeper/cli.js";
import { decryptMedia } from "../../src/protocol/media-crypto.js";
import { TestProvider, type ProviderConnection, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const BEN = "+4915187654321";
const tel = (e164: string) => `tel:${e164}`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const CLI = fileURLToPath(new URL("../../src/gatekeeper/cli.js", import.meta.url));

type MediaJson = { mimetype?: string; caption?: string; fileName?: string; seconds?: number; ptt?: boolean; width?: number; height?: number; waveform?: string; jpegThumbnail?: string };
type Received = { message?: { conversation?: string; imageMessage?: MediaJson; videoMessage?: MediaJson; audioMessage?: MediaJson; documentMessage?: MediaJson; extendedTextMessage?: { text?: string } }; receipt?: { type?: string; messageIds?: string[] } };

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("gatekeeper simulated users: chats with each other and media", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let alice: TestMatrixUser;
  let conn: ProviderConnection;

  before(async () => {
    gk = await GatekeeperProcess.start();
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna");
    await gk.addUser(BEN, "Ben", { devices: 2 });
    alice = await provider.user("alice");
    await alice.uploadKeys();
    conn = await provider.connect();
  });

  after(async () => {
    await conn?.close();
    await gk?.stop();
  });

  it("routes text between two simulated users, to every device, with a delivery receipt back", async () => {
    const id = await gk.sendAs(ANNA, { to: tel(BEN), text: "hi Ben" });
    for (const device of [1, 2]) {
      const got = await gk.waitForMessage(BEN, (m) => m.messageId === id && m.deviceId === device);
      assert.deepEqual(got.content, { message: { conversation: "hi Ben" } });
      assert.equal(got.sender, tel(ANNA));
    }
    const receipt = await gk.waitForMessage(ANNA, (m) => (m.content as Received).receipt?.messageIds?.includes(id) === true);
    assert.equal(receipt.sender, tel(BEN));
    // Replies in the other direction, addressed by plain phone number.
    const reply = await gk.sendAs(BEN, { to: "+49 151 1234 5678", text: "hi Anna", replyTo: id });
    const got = await gk.waitForMessage(ANNA, (m) => m.messageId === reply);
    assert.equal((got.content as Received).message?.extendedTextMessage?.text, "hi Anna");
  });

  it("refuses sends to unknown numbers, to oneself and to someone who blocked the sender", async () => {
    await assert.rejects(gk.sendAs(ANNA, { to: tel("+4915100000000"), text: "x" }), (e: AdminApiError) => e.errcode === "UNKNOWN_USER");
    await assert.rejects(gk.sendAs(ANNA, { to: tel(ANNA), text: "x" }), (e: AdminApiError) => e.status === 400);
    await gk.block(BEN, tel(ANNA));
    try {
      await assert.rejects(gk.sendAs(ANNA, { to: tel(BEN), text: "x" }), (e: AdminApiError) => e.status === 403 && /blocked/.test(e.message));
    } finally {
      await gk.unblock(BEN, tel(ANNA));
    }
  });

  it("sends an image with caption, dimensions and thumbnail to another simulated user, who verifies and decrypts it", async () => {
    const image = randomBytes(300_000);
    const thumbnail = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(500)]);
    const sent = await gk.sendMediaAs(ANNA, tel(BEN), { kind: "image", data: image, mimetype: "image/png", caption: "the view", width: 640, height: 480, thumbnail });
    const got = await gk.waitForMessage(BEN, (m) => m.messageId === sent.id && m.deviceId === 1);
    const msg = (got.content as Received).message!.imageMessage!;
    assert.equal(msg.caption, "the view");
    assert.equal(msg.mimetype, "image/png");
    assert.equal(msg.width, 640);
    assert.equal(msg.height, 480);
    assert.deepEqual(Buffer.from(msg.jpegThumbnail!, "base64"), thumbnail);
    assert.deepEqual(got.media, { kind: "image", mediaId: sent.mediaId, mimetype: "image/png", ok: true, sha256: sha256(image), length: image.length });
    const file = await gk.receivedMedia(BEN, sent.id);
    assert.deepEqual(Buffer.from(file.bytes), image);
    assert.equal(file.contentType, "image/png");
    assert.match(describeReceived(got), /image \(image\/png, 640x480, 300000 bytes, sha256 [0-9a-f]{16}…\): the view/);
  });

  it("sends an animated sticker; the receiver's view says it is a sticker, animated, and its mimetype", async () => {
    const webp = randomBytes(2000);
    const sent = await gk.sendMediaAs(ANNA, tel(BEN), { kind: "image", data: webp, mimetype: "image/webp", width: 512, height: 512, sticker: true, animated: true });
    const got = await gk.waitForMessage(BEN, (m) => m.messageId === sent.id && m.deviceId === 1);
    assert.deepEqual(got.media, { kind: "image", mediaId: sent.mediaId, mimetype: "image/webp", sticker: { animated: true, width: 512, height: 512 }, ok: true, sha256: sha256(webp), length: webp.length });
    assert.match(describeReceived(got), /animated sticker \(image\/webp, 512x512, 2000 bytes/);
    await assert.rejects(gk.sendMediaAs(ANNA, tel(BEN), { kind: "image", data: webp, animated: true }), (e: AdminApiError) => e.status === 400 && /goes with sticker/.test(e.message));
  });

  it("rejects a stored file that was tampered with", async () => {
    const doc = randomBytes(5000);
    const sent = await gk.sendMediaAs(ANNA, tel(BEN), { kind: "document", data: doc, mimetype: "application/pdf", fileName: "report.pdf" });
    const got = await gk.waitForMessage(BEN, (m) => m.messageId === sent.id && m.deviceId === 1);
    assert.equal(got.media?.ok, true);
    assert.equal(got.media?.fileName, "report.pdf");
    const { offset } = await gk.tamperMedia(sent.mediaId);
    assert.equal(offset, Math.floor((Math.floor(doc.length / 16) + 1) * 16 + 10) >> 1);
    await assert.rejects(gk.receivedMedia(BEN, sent.id), (e: AdminApiError) => e.status === 422 && /integrity check failed \(enc_hash\)/.test(e.message));
    await assert.rejects(gk.tamperMedia("AAAAAAAAAAAAAAAAAAAAAA"), (e: AdminApiError) => e.status === 404);
  });

  it("sends a voice note with seconds and waveform to a provider's user, encrypted WhatsApp-style", async () => {
    const voice = randomBytes(20_000);
    const waveform = Array.from({ length: 64 }, (_, i) => (i * 3) % 101);
    const start = conn.deliveries().length;
    const sent = await gk.sendMediaAs(ANNA, alice.uri, { kind: "audio", data: voice, mimetype: "audio/ogg; codecs=opus", seconds: 7, ptt: true, waveform });
    const env = await conn.waitForDelivery((e) => e.sender === tel(ANNA) && conn.deliveries().indexOf(e) >= start);
    conn.ack(env);
    const { content } = await alice.decrypt(env);
    const audio = content.message!.audioMessage!;
    assert.equal(audio.ptt, true);
    assert.equal(audio.seconds, 7);
    assert.deepEqual([...audio.waveform], waveform);
    assert.equal(audio.directPath, `/v1/media/${sent.mediaId}`);
    // The provider fetches the upload from the media service and decrypts it with the keys from the message.
    const res = await fetch(`${gk.url}/v1/media/${sent.mediaId}`, { headers: { authorization: `Bearer ${await provider.token()}` } });
    assert.equal(res.status, 200);
    const plain = decryptMedia(new Uint8Array(await res.arrayBuffer()), "audio", audio);
    assert.deepEqual(Buffer.from(plain), voice);
  });

  it("refuses media requests that make no sense", async () => {
    await assert.rejects(
      gk.admin.send(ANNA, { to: tel(BEN), media: { kind: "image", data: "AAAA", ptt: true } }),
      (e: AdminApiError) => e.status === 400 && /media\.ptt: goes with audio, not image/.test(e.message),
    );
    await assert.rejects(gk.admin.send(ANNA, { to: tel(BEN), media: { kind: "image", data: "not base64!" } }), (e: AdminApiError) => e.status === 400 && /base64/.test(e.message));
    await assert.rejects(gk.admin.send(ANNA, { to: tel(BEN), text: "x", media: { kind: "image", data: "AAAA" } }), (e: AdminApiError) => /exactly one of/.test(e.message));
    await assert.rejects(gk.receivedMedia(BEN, "0".repeat(32)), (e: AdminApiError) => e.status === 404);
  });

  it("lets two simulated users chat from the command line: send a file, watch, save what arrived", async () => {
    const server = ["--data-dir", gk.dataDir];
    const dir = mkdtempSync(join(tmpdir(), "gk-cli-media-"));
    const path = join(dir, "holiday.jpg");
    const bytes = randomBytes(40_000);
    writeFileSync(path, bytes);
    const sent = await cli(["user", "send", BEN, "--to", ANNA, "--file", path, "--caption", "look", "--width", "800", "--height", "600", ...server]);
    assert.equal(sent.code, 0, sent.stderr);
    const id = sent.stdout.trim();
    assert.match(id, /^[0-9A-F]{32}$/);
    const got = await gk.waitForMessage(ANNA, (m) => m.messageId === id);
    assert.equal(got.media?.ok, true);

    const messages = await cli(["user", "messages", ANNA, ...server]);
    assert.equal(messages.code, 0, messages.stderr);
    assert.match(messages.stdout, new RegExp(`tel:\\${BEN}#1 -> device 1 \\[${id}\\]: image \\(image/jpeg, 800x600, 40000 bytes, sha256 [0-9a-f]{16}…\\): look`));

    const out = join(dir, "saved.jpg");
    const saved = await cli(["user", "media", ANNA, id, "--out", out, ...server]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.deepEqual(readFileSync(out), bytes);

    const voice = join(dir, "note.ogg");
    writeFileSync(voice, randomBytes(3000));
    const sentVoice = await cli(["user", "send", BEN, "--to", `tel:${ANNA}`, "--file", voice, "--voice", "--seconds", "3", "--waveform", "0,50,100", ...server]);
    assert.equal(sentVoice.code, 0, sentVoice.stderr);
    const gotVoice = await gk.waitForMessage(ANNA, (m) => m.messageId === sentVoice.stdout.trim());
    assert.match(describeReceived(gotVoice), /voice note \(audio\/ogg, 3 s, 3000 bytes/);

    const bad = await cli(["user", "send", BEN, "--to", ANNA, "--file", join(dir, "missing.png"), ...server]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /cannot read --file/);
  });
});
