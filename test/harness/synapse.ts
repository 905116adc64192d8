import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { freePort } from "./free-port.js";
import {
  HOMESERVER_LOG_NAME,
  renderHomeserverConfig,
  renderLogConfig,
  renderSigningKey,
} from "./homeserver-config.js";
import { harnessLog } from "./log.js";
import { removeStaleRuns, tail } from "./run-dirs.js";
import { spawnInRoot, type RootProcess } from "./root-process.js";
import { canRunLocalSynapse, ensureSynapseRoot } from "./synapse-root.js";
import { registerWithSharedSecret, type RegisteredUser, type RegisterOptions } from "./shared-secret-register.js";

export type { RegisteredUser, RegisterOptions } from "./shared-secret-register.js";

export interface SynapseHandle {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  serverName: string;
  /** The registration file Synapse loaded (host path). */
  registrationPath: string;
  /** registration_shared_secret */
  sharedSecret: string;
  /** True when the Synapse was given through MDB_TEST_SYNAPSE_* and is not ours to start or stop. */
  external: boolean;
  /** Synapse's own log (host path) while it runs; undefined for an external Synapse. */
  logPath: string | undefined;
  registerUser(localpart: string, opts?: RegisterOptions): Promise<RegisteredUser>;
  /** Stops the Synapse and removes its data; a no-op for an external one. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops Synapse (SIGTERM, or SIGKILL with `kill`) and starts it again on the same port with the same data, as an
   * admin restart or a crash would. Throws for an external Synapse, which is not ours to restart.
   */
  restart(options?: { kill?: boolean }): Promise<void>;
}

export interface StartSynapseOptions {
  /** The appservice registration Synapse loads (ignored for an external Synapse, which has its own). */
  registrationYaml: string;
  /** Where this run's data directory is created; must be inside the Synapse root. Default <root>/srv/mdb-test. */
  workDir?: string;
  /** How long to wait for Synapse to answer. Default 60 s. */
  startTimeoutMs?: number;
}

const ENV_URL = "MDB_TEST_SYNAPSE_URL";
const ENV_SECRET = "MDB_TEST_SYNAPSE_SHARED_SECRET";
const ENV_REGISTRATION = "MDB_TEST_SYNAPSE_REGISTRATION";
const ENV_KEEP = "MDB_TEST_KEEP_SYNAPSE";

const HOW_TO_GET_A_SYNAPSE = `The Matrix tests need a real Synapse. Either
  - run them as root: the harness then builds a Debian root with matrix-synapse (scripts/synapse-root.sh, a few
    minutes once, cached) and starts a fresh Synapse in it for every test run; or
  - start a Synapse yourself (Docker image or your own install) with an appservice registration loaded and a
    registration_shared_secret set, then export
      ${ENV_URL}=http://127.0.0.1:8008
      ${ENV_SECRET}=<registration_shared_secret>
      ${ENV_REGISTRATION}=<path of the registration file that Synapse loaded>`;

/** The last run's Synapse log is copied here on stop, so a failed test can still be investigated. */
export const LAST_LOG_PATH = path.join(os.tmpdir(), "mdb-synapse-last.log");

/**
 * Starts a fresh Synapse for tests (as root), or connects to the one given by MDB_TEST_SYNAPSE_URL and friends.
 * Throws, explaining both options, when neither is possible: Matrix tests are never skipped silently.
 */
export async function startSynapse(opts: StartSynapseOptions): Promise<SynapseHandle> {
  const externalUrl = process.env[ENV_URL];
  if (externalUrl !== undefined && externalUrl !== "") return connectExternalSynapse(externalUrl);
  if (!canRunLocalSynapse()) {
    throw new Error(`Not running as root and ${ENV_URL} is not set.\n${HOW_TO_GET_A_SYNAPSE}`);
  }
  return startLocalSynapse(opts);
}

async function connectExternalSynapse(rawUrl: string): Promise<SynapseHandle> {
  const sharedSecret = process.env[ENV_SECRET];
  const registrationPath = process.env[ENV_REGISTRATION];
  if (!sharedSecret || !registrationPath) {
    throw new Error(`${ENV_URL} is set, but ${!sharedSecret ? ENV_SECRET : ENV_REGISTRATION} is not.\n${HOW_TO_GET_A_SYNAPSE}`);
  }
  const url = rawUrl.replace(/\/+$/, "");
  const asToken = readAsToken(registrationPath);
  // whoami as the appservice bot both proves Synapse loaded this registration and tells us the server name.
  const res = await fetch(`${url}/_matrix/client/v3/account/whoami`, {
    headers: { authorization: `Bearer ${asToken}` },
    signal: AbortSignal.timeout(10_000),
  }).catch((err: unknown) => {
    throw new Error(`the Synapse at ${ENV_URL}=${url} does not answer: ${String(err)}`);
  });
  const body = (await res.json().catch(() => ({}))) as { user_id?: unknown };
  if (!res.ok || typeof body.user_id !== "string") {
    throw new Error(
      `the Synapse at ${url} rejects the as_token of ${registrationPath} (${res.status} ${JSON.stringify(body)}); ` +
        `is that the registration it loaded?`,
    );
  }
  const serverName = body.user_id.slice(body.user_id.indexOf(":") + 1);
  harnessLog.warn(
    { url, serverName, registrationPath },
    `using the external Synapse from ${ENV_URL} and its registration from ${ENV_REGISTRATION}`,
  );
  return {
    url,
    serverName,
    registrationPath,
    sharedSecret,
    external: true,
    logPath: undefined,
    registerUser: (localpart, o) => registerWithSharedSecret(url, sharedSecret, localpart, o),
    stop: async () => {},
    restart: async () => {
      throw new Error(`the external Synapse at ${url} (${ENV_URL}) cannot be restarted by the tests`);
    },
  };
}

function readAsToken(registrationPath: string): string {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(registrationPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read the registration ${registrationPath} from ${ENV_REGISTRATION}: ${String(err)}`);
  }
  const token = (doc as { as_token?: unknown } | null)?.as_token;
  if (typeof token !== "string") throw new Error(`${registrationPath} has no as_token`);
  return token;
}

async function startLocalSynapse(opts: StartSynapseOptions): Promise<SynapseHandle> {
  const root = await ensureSynapseRoot();
  const runsDir = path.resolve(opts.workDir ?? path.join(root, "srv", "mdb-test"));
  if (!runsDir.startsWith(root + path.sep)) {
    throw new Error(`workDir ${runsDir} must be inside the Synapse root ${root}: Synapse runs chrooted there`);
  }
  mkdirSync(runsDir, { recursive: true });
  removeStaleRuns(runsDir);

  // A fresh data directory per run: tests must never see an earlier run's users or rooms.
  const runDir = mkdtempSync(path.join(runsDir, `run-${process.pid}-`));
  const inRoot = (hostPath: string) => "/" + path.relative(root, hostPath);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const sharedSecret = randomBytes(24).toString("hex");
  const registrationPath = path.join(runDir, "registration.yaml");
  const logPath = path.join(runDir, HOMESERVER_LOG_NAME);
  const outputPath = path.join(runDir, "output.log");

  writeFileSync(registrationPath, opts.registrationYaml);
  writeFileSync(path.join(runDir, "signing.key"), renderSigningKey());
  writeFileSync(path.join(runDir, "log.config"), renderLogConfig(inRoot(runDir)));
  writeFileSync(
    path.join(runDir, "homeserver.yaml"),
    renderHomeserverConfig({
      serverName: "localhost",
      port,
      dataDir: inRoot(runDir),
      registrationPath: inRoot(registrationPath),
      registrationSharedSecret: sharedSecret,
      macaroonSecretKey: randomBytes(24).toString("hex"),
      formSecret: randomBytes(24).toString("hex"),
    }),
  );

  const started = Date.now();
  const argv = ["python3", "-m", "synapse.app.homeserver", "-c", inRoot(path.join(runDir, "homeserver.yaml"))];
  let proc = spawnInRoot(root, argv, outputPath);
  try {
    await waitUntilAnswering(url, proc, opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await proc.stop(5_000);
    // Fatal start-up errors go to stderr (and, once logging is set up, to the log as well); a Synapse that
    // hangs only writes to its log.
    const output = tail(outputPath, 40);
    const shown = output.trim() !== "" ? { file: outputPath, text: output } : { file: logPath, text: tail(logPath, 40) };
    throw new Error(
      `${(err as Error).message}\n--- tail of ${shown.file} ---\n${shown.text}\n` +
        `(the run directory ${runDir} is kept for inspection; Synapse's log is ${logPath})`,
    );
  }
  harnessLog.info({ url, runDir, ms: Date.now() - started }, "Synapse is up");

  let stopping: Promise<void> | undefined;
  return {
    url,
    serverName: "localhost",
    registrationPath,
    sharedSecret,
    external: false,
    logPath,
    registerUser: (localpart, o) => registerWithSharedSecret(url, sharedSecret, localpart, o),
    async restart(options = {}) {
      if (stopping) throw new Error("Synapse was stopped; it cannot be restarted");
      const t0 = Date.now();
      await proc.stop(options.kill ? 0 : 15_000);
      proc = spawnInRoot(root, argv, outputPath);
      await waitUntilAnswering(url, proc, opts.startTimeoutMs ?? 60_000);
      harnessLog.info({ url, ms: Date.now() - t0, kill: options.kill ?? false }, "Synapse restarted");
    },
    stop() {
      stopping ??= (async () => {
        await proc.stop();
        if (existsSync(logPath)) copyFileSync(logPath, LAST_LOG_PATH);
        if (process.env[ENV_KEEP]) harnessLog.warn({ runDir }, `${ENV_KEEP} is set: keeping the Synapse data`);
        else rmSync(runDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function waitUntilAnswering(url: string, proc: RootProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (!proc.running()) throw new Error(`Synapse exited before answering (${await proc.exited})`);
    try {
      const res = await fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = String((err as Error).cause ?? err);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`Synapse did not answer on ${url} within ${timeoutMs} ms (last: ${lastError})`);
}
