import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { botUserId, puppetUserId } from "../../src/config/identities.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";
import { matrixRequest } from "../harness/matrix-request.js";
import { startSynapse, type SynapseHandle } from "../harness/synapse.js";

const PUPPET_DEVICE = "PUPPETDEV1";

describe("test harness: the shared Synapse", function () {
  let env: TestEnv;
  let url: string;
  let asToken: string;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    env = await getTestEnv();
    url = env.synapse.url;
    asToken = env.registration.as_token;
  });

  it("loaded the bridge's registration: the as_token speaks as the bridge bot", async () => {
    const me = await matrixRequest(url, "GET", "/_matrix/client/v3/account/whoami", { token: asToken });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body["user_id"], botUserId(env.config));
    assert.equal(me.body["user_id"], `@whatsappbot:${env.synapse.serverName}`);

    const stranger = await matrixRequest(url, "GET", "/_matrix/client/v3/account/whoami", { token: "not-our-token" });
    assert.equal(stranger.status, 401);
    assert.equal(stranger.body["errcode"], "M_UNKNOWN_TOKEN");
  });

  it("lets the appservice register a puppet and give it a device it can masquerade as (MSC4190)", async () => {
    const userId = puppetUserId(env.config, "+4915112345678");
    assert.equal(userId, `@wa_4915112345678:${env.synapse.serverName}`);

    const register = (username: string) =>
      matrixRequest(url, "POST", "/_matrix/client/v3/register", {
        token: asToken,
        body: { type: "m.login.application_service", username, inhibit_login: true },
      });

    // A number no other test uses must register afresh...
    const fresh = `wa_49151${String(randomBytes(4).readUInt32BE() % 10_000_000).padStart(7, "0")}`;
    const freshReg = await register(fresh);
    assert.equal(freshReg.status, 200, JSON.stringify(freshReg.body));
    assert.equal(freshReg.body["user_id"], `@${fresh}:${env.synapse.serverName}`);
    assert.equal(freshReg.body["access_token"], undefined, "inhibit_login must not create a device or token");
    assert.equal((await register(fresh)).body["errcode"], "M_USER_IN_USE");

    // ...while this well-known one may already exist: the Synapse is shared by every suite of the test process
    // (and an external one keeps users from earlier runs).
    const reg = await register("wa_4915112345678");
    if (reg.status !== 200) assert.equal(reg.body["errcode"], "M_USER_IN_USE", JSON.stringify(reg.body));
    else assert.equal(reg.body["user_id"], userId);

    const device = await matrixRequest(url, "PUT", `/_matrix/client/v3/devices/${PUPPET_DEVICE}`, {
      token: asToken,
      query: { user_id: userId },
      body: { display_name: "WhatsApp bridge" },
    });
    assert.ok(device.status === 200 || device.status === 201, `device creation: ${device.status} ${JSON.stringify(device.body)}`);

    const me = await matrixRequest(url, "GET", "/_matrix/client/v3/account/whoami", {
      token: asToken,
      query: { user_id: userId, device_id: PUPPET_DEVICE },
    });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body["user_id"], userId);
    assert.equal(me.body["device_id"], PUPPET_DEVICE);

    const devices = await matrixRequest(url, "GET", "/_matrix/client/v3/devices", { token: asToken, query: { user_id: userId } });
    assert.equal(devices.status, 200, JSON.stringify(devices.body));
    const ids = (devices.body["devices"] as { device_id: string }[]).map((d) => d.device_id);
    assert.ok(ids.includes(PUPPET_DEVICE), `devices of ${userId}: ${ids.join(", ")}`);

    const unknownDevice = await matrixRequest(url, "GET", "/_matrix/client/v3/account/whoami", {
      token: asToken,
      query: { user_id: userId, device_id: "NOSUCHDEVICE" },
    });
    assert.notEqual(unknownDevice.status, 200, "masquerading as a device that does not exist must fail");
  });

  it("refuses to let the appservice register a user outside its namespace (M_EXCLUSIVE)", async () => {
    const res = await matrixRequest(url, "POST", "/_matrix/client/v3/register", {
      token: asToken,
      body: { type: "m.login.application_service", username: `alice_${randomBytes(4).toString("hex")}`, inhibit_login: true },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body["errcode"], "M_EXCLUSIVE");
  });

  it("registerUser creates users who can log in with their password; only admins reach the admin API", async () => {
    const suffix = randomBytes(4).toString("hex");
    const alice = await env.synapse.registerUser(`alice_${suffix}`);
    const admin = await env.synapse.registerUser(`admin_${suffix}`, { admin: true, password: "correct horse" });
    assert.equal(alice.userId, `@alice_${suffix}:${env.synapse.serverName}`);
    assert.equal(admin.password, "correct horse");

    const login = await matrixRequest(url, "POST", "/_matrix/client/v3/login", {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: `alice_${suffix}` }, password: alice.password },
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.body["user_id"], alice.userId);
    const me = await matrixRequest(url, "GET", "/_matrix/client/v3/account/whoami", { token: login.body["access_token"] as string });
    assert.equal(me.body["user_id"], alice.userId);

    const wrong = await matrixRequest(url, "POST", "/_matrix/client/v3/login", {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: `alice_${suffix}` }, password: "wrong" },
    });
    assert.equal(wrong.status, 403);

    const adminPath = `/_synapse/admin/v2/users/${encodeURIComponent(alice.userId)}`;
    assert.equal((await matrixRequest(url, "GET", adminPath, { token: admin.accessToken })).status, 200);
    assert.equal((await matrixRequest(url, "GET", adminPath, { token: alice.accessToken })).status, 403);
  });

  it("has loose rate limits: a burst of logins to one account is not throttled", async function () {
    // Synapse's default allows 5 logins per account and then one every ~5 minutes.
    if (env.synapse.external) this.skip();
    const user = await env.synapse.registerUser(`burst_${randomBytes(4).toString("hex")}`);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await matrixRequest(url, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: user.userId }, password: user.password },
      });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses, Array(8).fill(200));
  });
});

describe("test harness: startSynapse life cycle", function () {
  const registrationYaml = [
    "id: lifecycle-test",
    "url: http://127.0.0.1:9",
    `as_token: ${randomBytes(16).toString("hex")}`,
    `hs_token: ${randomBytes(16).toString("hex")}`,
    "sender_localpart: lifecyclebot",
    "namespaces: { users: [{ exclusive: true, regex: '@lc_.*:localhost' }], aliases: [], rooms: [] }",
    "",
  ].join("\n");
  const started: SynapseHandle[] = [];

  before(function () {
    // These start Synapses of their own; an external Synapse cannot be started or stopped by us.
    if (process.env["MDB_TEST_SYNAPSE_URL"]) this.skip();
  });

  afterEach(async function () {
    this.timeout(60_000);
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });

  it("gives every start a fresh data directory, and stop() leaves no process, port or data behind", async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    const first = await startSynapse({ registrationYaml });
    started.push(first);
    assert.equal(first.external, false);
    assert.ok(first.logPath !== undefined);
    const runDir = path.dirname(first.logPath);
    await first.registerUser("bob", { password: "pw" });
    assert.ok(processesMentioning(runDir).length > 0, "Synapse should be running from its run directory");

    await first.stop();
    await first.stop(); // a second stop is harmless
    assert.deepEqual(processesMentioning(runDir), []);
    assert.equal(existsSync(runDir), false, `${runDir} should be removed`);
    await assert.rejects(fetch(`${first.url}/_matrix/client/versions`), "the port should be closed");

    const second = await startSynapse({ registrationYaml });
    started.push(second);
    assert.notEqual(path.dirname(second.logPath ?? ""), runDir);
    // Would fail with M_USER_IN_USE if the second run saw the first one's database.
    const bob = await second.registerUser("bob", { password: "pw" });
    assert.equal(bob.userId, "@bob:localhost");
  });

  it("stops Synapse when the test process is killed with SIGKILL", async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    const harness = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "harness", "synapse.js");
    const script = `
      import { startSynapse } from ${JSON.stringify(harness)};
      const s = await startSynapse({ registrationYaml: ${JSON.stringify(registrationYaml)} });
      console.log(JSON.stringify({ url: s.url, runDir: s.logPath.replace(/\\/[^/]*$/, "") }));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0] ?? "");
      });
      child.once("exit", (code) => reject(new Error(`the child exited (${code}) before starting Synapse`)));
    });
    const { url, runDir } = JSON.parse(line) as { url: string; runDir: string };
    assert.equal((await fetch(`${url}/_matrix/client/versions`)).status, 200);

    child.kill("SIGKILL");
    const deadline = Date.now() + 20_000;
    while (processesMentioning(runDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(processesMentioning(runDir), [], "Synapse outlived the killed test process");
    await assert.rejects(fetch(`${url}/_matrix/client/versions`));
  });

  it("refuses a workDir outside the Synapse root, where the chrooted Synapse could not see it", async () => {
    await assert.rejects(startSynapse({ registrationYaml, workDir: "/tmp/elsewhere" }), /must be inside the Synapse root/);
  });

  it("fails with Synapse's own complaint when Synapse cannot start", async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    // Synapse refuses a registration without tokens at start-up.
    const error = await startSynapse({ registrationYaml: "id: broken\nurl: http://127.0.0.1:9\n" }).then(
      (s) => {
        started.push(s);
        return undefined;
      },
      (err: unknown) => err as Error,
    );
    assert.ok(error instanceof Error, "startSynapse should have failed");
    assert.match(error.message, /Synapse exited before answering/);
    assert.match(error.message, /as_token|hs_token|Missing|required/i);
    const runDir = /the run directory (\S+) is kept/.exec(error.message)?.[1];
    assert.ok(runDir !== undefined && processesMentioning(runDir).length === 0);
  });
});

/**
 * PIDs whose command line mentions the run directory. Synapse sees it under its path inside the root, so the
 * directory's unique name is what is matched.
 */
function processesMentioning(runDir: string): number[] {
  const text = `/${path.basename(runDir)}/`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(text)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
