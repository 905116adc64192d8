// The `dma-gatekeeper` command line against a running server (itself started through the CLI by src/gatekeeper/process.ts).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { enlistCommand } from "../../src/cli/generate-registration.js";
import { textContent } from "../../src/protocol/content-builders.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider } from "./peer.js";

const CLI = fileURLToPath(new URL("../../src/gatekeeper/cli.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("dma-gatekeeper CLI", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let server: string[];
  let provider: TestProvider;

  before(async () => {
    gk = await GatekeeperProcess.start();
    // The admin URL is found in the data directory, where the server wrote it.
    server = ["--data-dir", gk.dataDir];
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
  });

  after(async () => {
    await gk?.stop();
  });

  it("enlists a provider and adds users given in any common phone spelling", async () => {
    const added = await run(["provider", "add", "--id", provider.id, "--public-key", provider.publicKey, "--domain", provider.domain, ...server]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(JSON.parse(added.stdout).domains, ["example.org"]);

    const anna = await run(["user", "add", "+49 151 1234 5678", "--name", "Anna", "--devices", "2", ...server]);
    assert.equal(anna.code, 0, anna.stderr);
    assert.equal(JSON.parse(anna.stdout).e164, "+4915112345678");
    const ben = await run(["user", "add", "0049 (151) 8765-4321", "--name", "Ben", "--no-opt-in", ...server]);
    assert.equal(ben.code, 0, ben.stderr);

    const list = await run(["user", "list", ...server]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\+4915112345678 {2}Anna {2}devices 1,2 {2}opted in/);
    assert.match(list.stdout, /\+4915187654321 {2}Ben {2}devices 1 {2}not opted in/);
  });

  it("uses the admin URL and token given, from the environment or a token file", async () => {
    const viaEnv = await run(["user", "show", "+4915112345678", "--admin-url", gk.adminUrl, "--data-dir", "/nonexistent"], { DMA_GATEKEEPER_ADMIN_TOKEN: gk.adminToken });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const viaFile = await run(["user", "show", "+4915112345678", "--admin-url", gk.adminUrl, "--admin-token-file", `${gk.dataDir}/admin-token`]);
    assert.equal(viaFile.code, 0, viaFile.stderr);
    const wrong = await run(["user", "list", "--admin-url", gk.adminUrl], { DMA_GATEKEEPER_ADMIN_TOKEN: "wrong-token-wrong-token" });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /UNAUTHORIZED/);
  });

  it("finds no admin API on the interop port, and refuses to send the token off loopback", async () => {
    const onInterop = await run(["user", "list", "--admin-url", gk.url, "--data-dir", gk.dataDir]);
    assert.equal(onInterop.code, 1);
    assert.match(onInterop.stderr, /NOT_FOUND|UNAUTHORIZED/);
    const remote = await run(["user", "list", "--admin-url", "http://192.0.2.1:29401", "--data-dir", gk.dataDir]);
    assert.equal(remote.code, 2);
    assert.match(remote.stderr, /loopback/);
    const old = await run(["user", "list", "--server", gk.url, "--data-dir", gk.dataDir]);
    assert.equal(old.code, 2);
    assert.match(old.stderr, /--admin-url/);
  });

  it("enlists a public key that starts with '-', as the bridge prints the command", async () => {
    let key: string;
    do key = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!;
    while (!key.startsWith("-"));
    const [program, ...words] = enlistCommand("dash-bridge", key, "dash.example.org").split(" ");
    assert.equal(program, "dma-gatekeeper");
    const added = await run([...words, ...server]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(JSON.parse(added.stdout).publicKey, key);
    const listed = await run(["provider", "list", ...server]);
    assert.ok((JSON.parse(listed.stdout) as { id: string; publicKey: string }[]).some((p) => p.id === "dash-bridge" && p.publicKey === key), listed.stdout);
    // An option name after an option that wants a value is still a mistake, not the value.
    const missing = await run(["provider", "add", "--id", "--public-key", key, ...server]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ambiguous/);
  });

  it("changes a simulated user's profile", async () => {
    const renamed = await run(["user", "profile", "+4915112345678", "--name", "Anna Berg", ...server]);
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.equal(JSON.parse(renamed.stdout).name, "Anna Berg");
    const none = await run(["user", "profile", "+4915112345678", ...server]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /needs --name or --avatar/);
    const unknown = await run(["user", "profile", "+4915199999999", "--name", "X", ...server]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /UNKNOWN_USER/);
  });

  it("explains errors and usage mistakes with an exit status", async () => {
    const bad = await run(["user", "add", "12", "--name", "X", ...server]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID .*not a valid phone number/);
    const usage = await run(["user", "frobnicate", ...server]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown user command/);
    const noServer = await run(["user", "list", "--admin-url", "http://127.0.0.1:9", "--data-dir", gk.dataDir]);
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /no gatekeeper admin API answers/);
  });

  it("sends as a simulated user, watches what it receives, blocks and opts in", async () => {
    const alice = await provider.user("alice");
    await alice.uploadKeys();
    const conn = await provider.connect();
    try {
      const sent = await run(["user", "send", "+4915112345678", "--to", alice.uri, "hello", "from", "the", "CLI", ...server]);
      assert.equal(sent.code, 0, sent.stderr);
      const id = sent.stdout.trim();
      assert.match(id, /^[0-9A-F]{32}$/);
      const env = await conn.waitForDelivery((e) => e.sender === "tel:+4915112345678");
      assert.equal((await alice.decrypt(env)).content.message?.conversation, "hello from the CLI");
      conn.ack(env);

      const react = await run(["user", "send", "+4915112345678", "--to", alice.uri, "--react", id, "🎉", ...server]);
      assert.equal(react.code, 0, react.stderr);

      // Watch prints a line per received message as it arrives.
      const watch = spawn(process.execPath, [CLI, "user", "watch", "+4915112345678", ...server]);
      let out = "";
      watch.stdout.on("data", (c: Buffer) => (out += c.toString()));
      await new Promise((r) => setTimeout(r, 300));
      const msg = await alice.send(conn, "tel:+4915112345678", textContent("watched"));
      assert.equal(msg.result.ok, true);
      const deadline = Date.now() + 10_000;
      // Each device decrypts on its own: wait for both lines, not the first.
      while (!/device 1 .*: watched[\s\S]*device 2 .*: watched|device 2 .*: watched[\s\S]*device 1 .*: watched/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      watch.kill("SIGINT");
      assert.match(out, new RegExp(`matrix:u/alice:example.org#1 -> device 1 \\[${msg.id}\\]: watched`));
      assert.match(out, /device 2 .*: watched/, "both devices appear");

      const block = await run(["user", "block", "+4915112345678", alice.uri, ...server]);
      assert.equal(block.code, 0, block.stderr);
      assert.deepEqual(JSON.parse(block.stdout).blocked, [alice.uri]);
      const optIn = await run(["user", "opt-in", "+4915187654321", ...server]);
      assert.equal(JSON.parse(optIn.stdout).optedIn, true);
      const reset = await run(["user", "reset-identity", "+4915112345678", "--device", "2", ...server]);
      assert.equal(reset.code, 0, reset.stderr);
      assert.equal(JSON.parse(reset.stdout).deviceId, 2);
    } finally {
      await conn.close();
    }
  });

  it("sends locations, contact cards, polls, pins, timers and decorated text as WhatsApp's clients build them", async () => {
    const bob = await provider.user("bob");
    await bob.uploadKeys();
    const conn = await provider.connect();
    const from = "+4915112345678";
    const got = async (args: string[]) => {
      const sent = await run(["user", "send", from, "--to", bob.uri, ...args, ...server]);
      assert.equal(sent.code, 0, sent.stderr);
      // The envelope of this very send: earlier ones (and receipts to Alice) are on this connection too.
      const id = sent.stdout.trim();
      const env = await conn.waitForDelivery((e) => Buffer.from(e.id).toString("hex").toUpperCase() === id && e.recipient === bob.uri);
      conn.ack(env);
      return (await bob.decrypt(env)).content.message!;
    };
    try {
      const loc = (await got(["--location", "52.52,13.405", "--name", "Fernsehturm", "--address", "Berlin"])).locationMessage;
      assert.deepEqual([loc?.degreesLatitude, loc?.degreesLongitude, loc?.name, loc?.address], [52.52, 13.405, "Fernsehturm", "Berlin"]);
      assert.equal((await got(["--location", "1.5,-2", "--live"])).liveLocationMessage?.degreesLongitude, -2);
      const card = (await got(["--contact", "Bob Builder:+49 151 99999999"])).contactMessage;
      assert.equal(card?.displayName, "Bob Builder");
      assert.match(card?.vcard ?? "", /FN:Bob Builder\nTEL;type=CELL;waid=4915199999999:\+49 151 99999999/);
      assert.equal((await got(["--contact", "A:+1 202 555 0100", "--contact", "B:+1 202 555 0101"])).contactsArrayMessage?.contacts.length, 2);
      const pollMessage = await got(["--poll", "Lunch?", "--option", "Pizza", "--option", "Sushi", "--max-selections", "1"]);
      const poll = pollMessage.pollCreationMessageV3;
      // The secret its votes are sealed with sits beside the poll, as WhatsApp's apps send it.
      assert.deepEqual([poll?.name, poll?.options.map((o) => o.optionName), poll?.selectableOptionsCount, pollMessage.messageContextInfo?.messageSecret.length], ["Lunch?", ["Pizza", "Sushi"], 1, 32]);
      const pin = (await got(["--pin", "3EB0C431C26A1916E07E"])).pinInChatMessage;
      assert.deepEqual([pin?.key?.id, pin?.type], ["3EB0C431C26A1916E07E", 1]);
      assert.equal((await got(["--disappearing", "7d"])).protocolMessage?.ephemeralExpiration, 604800);
      const timed = (await got(["vanishing", "--expires-in", "24h"])).ephemeralMessage?.message?.extendedTextMessage;
      assert.deepEqual([timed?.text, timed?.contextInfo?.expiration], ["vanishing", 86400]);
      const deco = (await got(["hi", "@4915112345678", "https://x.org", "--mention", "tel:+4915112345678", "--forwarded", "--preview", "https://x.org", "--title", "X"])).extendedTextMessage;
      assert.deepEqual([deco?.contextInfo?.mentionedJid, deco?.contextInfo?.isForwarded, deco?.matchedText, deco?.title], [["tel:+4915112345678"], true, "https://x.org", "X"]);
      const stickerFile = join(mkdtempSync(join(tmpdir(), "gk-sticker-")), "wave.webp");
      writeFileSync(stickerFile, randomBytes(500));
      const sticker = (await got(["--sticker", stickerFile, "--animated"])).stickerMessage;
      assert.deepEqual([sticker?.mimetype, sticker?.isAnimated], ["image/webp", true]);
      assert.equal((await got(["--sticker", stickerFile])).stickerMessage?.isAnimated, false);
      const loose = await run(["user", "send", from, "--to", bob.uri, "--animated", "hi", ...server]);
      assert.match(loose.stderr, /--animated goes with --sticker/);
      const bad = await run(["user", "send", from, "--to", bob.uri, "--location", "north", ...server]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /--location takes LAT,LON/);
    } finally {
      await conn.close();
    }
  });
});
