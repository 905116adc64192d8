// Health and readiness over HTTP, with a real bridge process whose homeserver is out of reach at first: the listener
// answers /health at once, /ready says what is missing, and the homeserver's first transactions are queued (not
// refused) while the bridge waits; once the homeserver answers, the bridge starts and handles them.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { providerPublicKey } from "../../src/config/provider-key.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import type { ReadinessReport } from "../../src/app/readiness.js";
import { databaseTarget } from "../../src/app/run.js";
import type { BridgeConfig } from "../../src/config/schema.js";
import { openStoreDatabase } from "../../src/store/database.js";
import { makeTestConfig } from "../harness/config.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { freePort } from "../harness/free-port.js";
import { BridgeProcess } from "./bridge-process.js";
import { MatrixTestUser } from "./matrix-user.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** A TCP door in front of the homeserver: closed (nothing listens) until opened. */
class Door {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve) => server.listen(this.port, "127.0.0.1", () => resolve()));
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

async function get(url: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

function healthcheck(configPath: string, ...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, "healthcheck", "-c", configPath, ...args]);
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("health and readiness (bridge process, homeserver out of reach at first)", function () {
  this.timeout(120_000);
  let gk: GatekeeperProcess;
  let bridge: BridgeProcess;
  let door: Door;
  let alice: MatrixTestUser | undefined;
  let base: string;
  let config: BridgeConfig;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 30_000);
    const env = await getTestEnv();
    const synapse = new URL(env.synapse.url);
    door = new Door(await freePort(), { host: synapse.hostname, port: Number(synapse.port) });
    gk = await GatekeeperProcess.start();
    const dir = mkdtempSync(join(env.tmpDir, "ready-"));
    config = makeTestConfig({
      homeserverUrl: `http://127.0.0.1:${door.port}`,
      domain: env.synapse.serverName,
      appservicePort: env.appservicePort,
      registrationPath: env.config.appservice.registration,
      dataDir: dir,
      gatekeeperUrl: gk.url,
      overrides: { bridge: { encryption: { default: false, allow: true } } },
    });
    await gk.addProvider(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), [env.synapse.serverName]);
    bridge = new BridgeProcess(config, dir);
    base = `http://127.0.0.1:${config.appservice.port}`;
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && bridge) console.error(bridge.logs.slice(-8000));
    alice?.stop();
    await bridge?.stop();
    await gk?.stop();
    await door?.close();
  });

  it("listens at once: alive, not ready, and says it waits for the homeserver", async () => {
    await bridge.start(30_000, "listening");
    assert.deepEqual(await get(`${base}/health`), { status: 200, body: { status: "ok" } });
    const ready = await until("the database to be open", async () => {
      const r = await get(`${base}/ready`);
      return (r.body as ReadinessReport).checks.database.ok ? r : undefined;
    });
    assert.equal(ready.status, 503);
    const report = ready.body as ReadinessReport;
    assert.equal(report.ready, false);
    assert.equal(report.started, false);
    assert.equal(report.checks.homeserver.ok, false);
    assert.match(report.checks.homeserver.detail ?? "", new RegExp(`waiting for the homeserver at http://127.0.0.1:${door.port}`));
    assert.equal(report.checks.gatekeeper.ok, false);

    assert.equal((await healthcheck(bridge.configPath)).code, 0);
    const notReady = await healthcheck(bridge.configPath, "--ready");
    assert.equal(notReady.code, 1);
    assert.match(notReady.out, /not ready: .*\/ready answered HTTP 503/);
  });

  it("queues the homeserver's first transaction while waiting, and handles it once the homeserver answers", async function () {
    const env = await getTestEnv();
    alice = await MatrixTestUser.create(env.synapse, `ready${Date.now() % 1_000_000}`);
    const bot = `@whatsappbot:${env.synapse.serverName}`;
    const mgmt = await alice.createDm(bot);
    // The invite reached the bridge and sits in its durable queue, although the bridge cannot reach the homeserver.
    // (A second connection to the bridge's own database, whichever engine the test config uses; its schema is current.)
    const db = await openStoreDatabase(databaseTarget(config));
    try {
      await until("the invite in the bridge's queue", async () => ((await db.get("SELECT seq FROM matrix_inbound WHERE room_id = ?", [mgmt])) ? true : undefined));
    } finally {
      await db.close();
    }
    assert.equal((await get(`${base}/ready`)).body.started, false, "the bridge must still be waiting for the homeserver");
    assert.doesNotMatch(bridge.logs, /could not queue transaction|rejected appservice request/);

    await door.open();
    await alice.waitForEvent("the bot's help in the management room", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"), 60_000);
    const ready = await until("/ready to answer 200", async () => {
      const r = await get(`${base}/ready`);
      return r.status === 200 ? r : undefined;
    });
    assert.deepEqual(ready.body, { ready: true, started: true, checks: { database: { ok: true }, homeserver: { ok: true }, gatekeeper: { ok: true } } });
    const isReady = await healthcheck(bridge.configPath, "--ready");
    assert.equal(isReady.code, 0, isReady.out);
  });

  it("stops being ready while the gatekeeper or the homeserver is away, and stays alive", async () => {
    await gk.stop();
    const noGatekeeper = await until("/ready to notice the gatekeeper is gone", async () => {
      const r = await get(`${base}/ready`);
      return r.status === 503 ? r : undefined;
    });
    assert.equal(noGatekeeper.body.checks.gatekeeper.ok, false);
    assert.match(noGatekeeper.body.checks.gatekeeper.detail, /^connection (waiting|connecting)/);
    assert.equal(noGatekeeper.body.checks.homeserver.ok, true);

    await door.close();
    const noHomeserver = await until("/ready to notice the homeserver is gone", async () => {
      const r = await get(`${base}/ready`);
      return r.body.checks.homeserver.ok === false ? r : undefined;
    }, 15_000);
    assert.equal(noHomeserver.body.checks.homeserver.detail, "the homeserver does not answer");
    assert.equal(noHomeserver.body.started, true);
    assert.equal((await get(`${base}/health`)).status, 200);
  });
});
