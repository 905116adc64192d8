// Nothing readable at rest: the real bridge process (real gatekeeper, real Synapse) carries a message each way, and
// afterwards no file under its data directory holds either text, in UTF-8 or UTF-16; every file there is 0600 and
// every directory 0700. And the bridge refuses to start on a database or provider key that others can read.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { generateRegistration, renderRegistration } from "../../src/config/registration.js";
import { openDatabase } from "../../src/store/database.js";
import { BridgeProcess } from "../e2e/bridge-process.js";
import { startWorld, type World } from "../e2e/world.js";
import { makeTestConfig } from "../harness/config.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { freePort } from "../harness/free-port.js";

const ANNA = "+4915112345678";

interface Found {
  file: string;
  encoding: string;
}

function walk(dir: string): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [dir];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = walk(path);
      files.push(...sub.files);
      dirs.push(...sub.dirs);
    } else files.push(path);
  }
  return { files, dirs };
}

/** Every file under `dir` that holds one of the markers, as UTF-8 or UTF-16LE bytes. */
function scan(dir: string, markers: readonly string[]): Found[] {
  const found: Found[] = [];
  for (const file of walk(dir).files) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue; // a journal that came and went
      throw err;
    }
    for (const marker of markers) {
      for (const encoding of ["utf8", "utf16le"] as const) {
        if (bytes.includes(Buffer.from(marker, encoding))) found.push({ file, encoding: `${marker} as ${encoding}` });
      }
    }
  }
  return found;
}

function looseModes(dir: string): string[] {
  const { files, dirs } = walk(dir);
  const loose: string[] = [];
  for (const file of files) {
    const mode = statSync(file, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o777) !== 0o600) loose.push(`${file} ${(mode & 0o777).toString(8)}`);
  }
  for (const d of dirs) {
    const mode = statSync(d).mode & 0o777;
    if (mode !== 0o700) loose.push(`${d}/ ${mode.toString(8)}`);
  }
  return loose;
}

for (const encrypted of [false, true]) {
  describe(`at rest: the bridge's data directory after a conversation (${encrypted ? "encrypted" : "plain"} rooms)`, function () {
    this.timeout(120_000);
    let w: World;
    let dataDir: string;
    let failed = false;

    before(async function () {
      this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
      // data/ is a directory the bridge creates itself, so its mode is the bridge's doing.
      w = await startWorld(
        encrypted ? "eatrest" : "atrest",
        [{ phone: ANNA, name: "Anna" }],
        { database: { path: "data/bridge.db" }, ...(encrypted ? { bridge: { encryption: { default: true, allow: true } } } : {}) },
        undefined,
        encrypted,
      );
      dataDir = dirname(w.config.database.path);
    });
    afterEach(function () {
      if (this.currentTest?.state === "failed") failed = true;
    });
    after(async () => {
      if (failed && w) console.error(w.bridge.logs.slice(-8000));
      await w?.stop();
    });

    it("keeps no message text in any file, running and stopped, and every file is the bridge's alone", async () => {
      const { user: alice, gk, userUri, bot } = w;
      const mgmt = encrypted ? await alice.createEncryptedDm(bot) : await alice.createDm(bot);
      await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"), 30_000);
      // With a crypto device: wait until the client would encrypt for the other member (waitForMember needs one).
      if (encrypted) await alice.waitForMember(mgmt, bot);
      await alice.sendText(mgmt, `start-chat ${ANNA}`);
      const room = await alice.acceptInviteFrom(w.puppet(ANNA), 30_000);
      if (encrypted) await alice.waitForMember(room, w.puppet(ANNA));

      const outgoing = `outgoing-${randomBytes(12).toString("hex")}`;
      const incoming = `incoming-${randomBytes(12).toString("hex")}`;
      await alice.sendText(room, `to Anna: ${outgoing}`);
      await gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === `to Anna: ${outgoing}`, 20_000);
      await gk.sendAs(ANNA, { to: userUri, text: `to Alice: ${incoming}` });
      const got = await alice.waitForEvent("Anna's message", (e) => e.roomId === room && e.content.body === `to Alice: ${incoming}`);
      assert.equal(got.encrypted ?? false, encrypted);

      const layout = walk(dataDir).files.map((f) => f.slice(dataDir.length + 1));
      assert.ok(layout.includes("bridge.db"), `the database is there: ${layout.join(", ")}`);
      assert.ok(layout.some((f) => f.startsWith("matrix-crypto/")), `crypto stores are there: ${layout.join(", ")}`);
      assert.ok(layout.includes("matrix-crypto.key"));

      // Running: once both queues are done and the next maintenance tick has truncated the WAL (every 5 s).
      const deadline = Date.now() + 20_000;
      let found = scan(dataDir, [outgoing, incoming]);
      while (found.length > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        found = scan(dataDir, [outgoing, incoming]);
      }
      assert.deepEqual(found, [], "no message text while the bridge runs");
      assert.deepEqual(looseModes(dataDir), []);

      await w.bridge.stop();
      assert.deepEqual(scan(dataDir, [outgoing, incoming]), [], "no message text after the bridge stopped");
      assert.deepEqual(looseModes(dataDir), []);
    });
  });
}

describe("at rest: the bridge refuses files that other users can read", function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-refuse-"));
  });
  afterEach(async () => rmSync(dir, { recursive: true, force: true }));

  /** A config and registration that would start, were it not for the file under test; nothing needs to run. */
  async function setUp() {
    const port = await freePort();
    const registrationPath = join(dir, "registration.yaml");
    const config = makeTestConfig({ homeserverUrl: "http://127.0.0.1:9", domain: "localhost", appservicePort: port, registrationPath, dataDir: dir });
    writeFileSync(registrationPath, renderRegistration(generateRegistration(config)), { mode: 0o600 });
    return config;
  }

  it("refuses a world-readable database, naming it and the fix", async () => {
    const config = await setUp();
    openDatabase(config.database.path).close();
    chmodSync(config.database.path, 0o644);
    const bridge = new BridgeProcess(config, dir);
    await assert.rejects(bridge.start(), (err: Error) => err.message.includes(`the database ${config.database.path} is readable by other users (mode 644); run: chmod 600 ${config.database.path}`));
    assert.equal(statSync(config.database.path).mode & 0o777, 0o644, "the bridge does not quietly change the operator's file");
  });

  it("refuses a world-readable provider key file, naming it and the fix", async () => {
    const config = await setUp();
    const keyPath = join(dir, "provider-key.pem");
    writeFileSync(keyPath, config.gatekeeper.provider_key);
    chmodSync(keyPath, 0o644);
    const bridge = new BridgeProcess({ ...config, gatekeeper: { ...config.gatekeeper, provider_key: `file:${keyPath}` } }, dir);
    await assert.rejects(bridge.start(), (err: Error) => err.message.includes(`gatekeeper.provider_key: file ${keyPath} is readable by other users (mode 644); run: chmod 600 ${keyPath}`));
    // Fixed as told, it gets past the key: it listens and waits for the homeserver, which is not there.
    chmodSync(keyPath, 0o600);
    const fixed = new BridgeProcess({ ...config, gatekeeper: { ...config.gatekeeper, provider_key: `file:${keyPath}` } }, dir);
    try {
      await fixed.start(30_000, "listening");
      assert.doesNotMatch(fixed.logs, /readable by other users/);
    } finally {
      await fixed.stop();
    }
  });
});
