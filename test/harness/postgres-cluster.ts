import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort } from "./free-port.js";
import { harnessLog } from "./log.js";
import { removeStaleRuns, tail } from "./run-dirs.js";
import { repoRoot } from "./repo-root.js";
import { spawnSupervised, type SupervisedProcess } from "./supervised-process.js";

/** The superuser of every test cluster; the harness gives it a fresh password on each start. */
export const POSTGRES_TEST_USER = "mdb_test";

/** Bump when the initdb options below change: a cached template made with other options is not reused. */
const TEMPLATE_RECIPE = 1;

const ENV_KEEP = "MDB_TEST_KEEP_POSTGRES";
const ENV_RUN_AS = "MDB_TEST_POSTGRES_USER";
const ENV_DIR = "MDB_TEST_POSTGRES_DIR";

/** The last run's server output is copied here on stop, so a failed test can still be investigated. */
export const POSTGRES_LAST_LOG_PATH = path.join(os.tmpdir(), "mdb-postgres-last.log");

export interface PostgresCluster {
  host: "127.0.0.1";
  port: number;
  user: string;
  password: string;
  /** The directory holding the cluster and its unix socket. */
  dataDir: string;
  /** The postmaster's pid (not the supervisor's). */
  serverPid: number;
  /** How the start went: whether it ran initdb, ms spent making the data directory, ms until it accepted connections. */
  startup: { coldInitdb: boolean; prepareMs: number; ms: number };
  /** postgres://user:password@127.0.0.1:port/database */
  url(database: string): string;
  /** A client over the unix socket as the superuser (trust auth there: the socket is in the 0700 data dir). */
  adminClient(database?: string): pg.Client;
  /** Stops the server (fast shutdown: open sessions are cut) and removes its data. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** The directory with initdb and postgres (default: what scripts/postgres.sh finds or installs). */
  binDir?: string;
  /** How long to wait for the server to accept connections. Default 30 s. */
  startTimeoutMs?: number;
  /**
   * Keep PostgreSQL's durability settings (fsync, synchronous commit, full-page writes) as a deployment has them,
   * for benchmarks; tests leave them off. Default false.
   */
  durable?: boolean;
}

/**
 * Returns the directory holding PostgreSQL's server binaries, installing Debian's package with scripts/postgres.sh
 * when they are missing (as root; that takes about half a minute once). Fast when they are present.
 */
export function ensurePostgresBinaries(): Promise<string> {
  const script = path.join(repoRoot(), "scripts", "postgres.sh");
  return new Promise((resolve, reject) => {
    // stderr is inherited so an installation's progress shows up in the test output.
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (out += chunk));
    child.once("error", (err) => reject(new Error(`cannot run ${script}: ${err.message}`)));
    child.once("close", (code, signal) => {
      const dir = out.trim().split("\n").pop() ?? "";
      if (code === 0 && dir !== "") resolve(dir);
      else reject(new Error(`${script} failed (${signal ?? `exit code ${code}`}); see its messages above`));
    });
  });
}

interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/**
 * PostgreSQL refuses to run as root. As root we run it as the `postgres` user Debian's package creates (or
 * MDB_TEST_POSTGRES_USER, or `nobody`); otherwise as ourselves.
 */
function runAsUser(): RunAs | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const wanted = process.env[ENV_RUN_AS];
  for (const name of wanted ? [wanted] : ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim());
      if (uid !== 0) return { name, uid, gid };
    } catch {
      // No such user: try the next one.
    }
  }
  throw new Error(
    wanted ? `${ENV_RUN_AS}=${wanted} names no unprivileged user` : "running as root, and there is neither a postgres nor a nobody user to run PostgreSQL as",
  );
}

/** Room in memory a run may use: a cluster is ~40 MB and every test database adds ~8 MB until it is dropped. */
const MEMORY_RUN_MIN_BYTES = 2 * 1024 ** 3;

/**
 * Where run directories go: MDB_TEST_POSTGRES_DIR, else /dev/shm when it has room (on the 2-core test machines
 * a warm start takes 0.2 s there against 1.3-2.7 s on the shared disk, CREATE DATABASE 20 ms against 300-900 ms),
 * else the temp directory. Docker gives /dev/shm 64 MB by default, so its size is checked, not just its existence.
 */
function runsParent(): string {
  const chosen = process.env[ENV_DIR];
  if (chosen) return chosen;
  try {
    const fs = statfsSync("/dev/shm");
    if (fs.bavail * fs.bsize >= MEMORY_RUN_MIN_BYTES && os.freemem() >= MEMORY_RUN_MIN_BYTES) return "/dev/shm";
  } catch {
    // No /dev/shm: the disk it is.
  }
  return os.tmpdir();
}

function cacheDir(): string {
  return process.env["MDB_CACHE_DIR"] ?? path.join(process.env["XDG_CACHE_HOME"] ?? path.join(os.homedir(), ".cache"), "matrix-dma-bridge");
}

function serverVersion(binDir: string): string {
  const out = execFileSync(path.join(binDir, "postgres"), ["--version"], { encoding: "utf8" });
  const version = /\(PostgreSQL\)\s+(\S+)/.exec(out)?.[1];
  if (version === undefined) throw new Error(`cannot read the version from "${out.trim()}"`);
  return version;
}

function run(cmd: string, args: string[], what: string): void {
  const res = spawnSync(cmd, args, { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`${what} failed (${res.error?.message ?? `exit ${res.status}`}): ${res.stderr}`);
}

/** Gives the tree to the server's user (cp -a keeps whichever owner the cached copy has). */
function handOver(dir: string, runAs: RunAs | undefined): void {
  if (runAs !== undefined) run("chown", ["-R", `${runAs.uid}:${runAs.gid}`, dir], `chown of ${dir}`);
}

/**
 * initdb into dataDir as the server's user. --no-sync: the cluster is throwaway, so nothing needs to reach the
 * disk. Trust over the unix socket only (it lives in the 0700 data directory); SCRAM passwords over TCP, as a
 * deployment would have them, so the store's connection strings are exercised with a password.
 */
function initdb(binDir: string, dataDir: string, runAs: RunAs | undefined, logPath: string): void {
  const res = spawnSync(
    path.join(binDir, "initdb"),
    ["-D", dataDir, "--no-sync", "--no-instructions", "-U", POSTGRES_TEST_USER, "-E", "UTF8", "--no-locale",
      "--auth-local=trust", "--auth-host=scram-sha-256"],
    { encoding: "utf8", env: { PATH: "/usr/bin:/bin", LC_ALL: "C" }, ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) },
  );
  if (res.status !== 0) {
    throw new Error(`initdb failed (${res.error?.message ?? `exit ${res.status}`}):\n${res.stdout}${res.stderr}\n(run directory kept: ${path.dirname(logPath)})`);
  }
}

/**
 * Fills dataDir with a fresh cluster: a copy of the cached template when there is one for this server version
 * (a copy takes ~0.1 s, initdb ~3 s on a busy 2-core machine), else initdb, whose result becomes the template.
 * Concurrent test processes each build their own and rename it into place; the loser's copy is dropped.
 */
function prepareDataDir(binDir: string, dataDir: string, runAs: RunAs | undefined, logPath: string): boolean {
  const template = path.join(cacheDir(), `postgres-template-${serverVersion(binDir)}-r${TEMPLATE_RECIPE}`);
  if (existsSync(path.join(template, "PG_VERSION"))) {
    run("cp", ["-a", template, dataDir], `copying the cluster template ${template}`);
    handOver(dataDir, runAs);
    return false;
  }
  mkdirSync(dataDir, { mode: 0o700 });
  handOver(dataDir, runAs);
  initdb(binDir, dataDir, runAs, logPath);
  mkdirSync(cacheDir(), { recursive: true });
  const building = `${template}.build-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    run("cp", ["-a", dataDir, building], "caching the cluster template");
    renameSync(building, template);
  } catch (err) {
    // Another process cached its template first (rename onto a non-empty directory fails), or the cache is not
    // writable: either way this run has its cluster.
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(template)) harnessLog.warn({ err, template }, "could not cache the PostgreSQL template; the next run runs initdb again");
  }
  return true;
}

/** Starts a throwaway PostgreSQL on 127.0.0.1 with a port the OS picked. */
export async function startPostgresCluster(opts: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const started = Date.now();
  const binDir = opts.binDir ?? (await ensurePostgresBinaries());
  const runAs = runAsUser();
  // Per test-process uid, so a root run and a user run on one machine never sweep each other's directories.
  const runsDir = path.join(runsParent(), `mdb-postgres-${process.getuid?.() ?? "user"}`);
  mkdirSync(runsDir, { recursive: true, mode: 0o755 });
  removeStaleRuns(runsDir);
  const runDir = mkdtempSync(path.join(runsDir, `run-${process.pid}-`));
  // mkdtemp makes it 0700: the server's user must be able to reach data/ below it.
  chmodSync(runDir, 0o755);
  chmodSync(runsDir, 0o755);
  const dataDir = path.join(runDir, "data");
  const logPath = path.join(runDir, "output.log");
  const coldInitdb = prepareDataDir(binDir, dataDir, runAs, logPath);
  const prepareMs = Date.now() - started;

  const port = await freePort();
  const password = randomBytes(18).toString("base64url");
  const proc = spawnSupervised({
    argv: [
      path.join(binDir, "postgres"), "-D", dataDir, "-p", String(port),
      // Loopback only, and the unix socket inside the data directory rather than the shared /var/run/postgresql.
      "-c", "listen_addresses=127.0.0.1",
      "-c", `unix_socket_directories=${dataDir}`,
      // Durability off: a test cluster is thrown away after the run, and these make commits and CREATE DATABASE
      // several times faster. The bridge's own crash-safety tests kill the bridge, never this server, so a
      // committed transaction still survives everything they do.
      ...(opts.durable ? [] : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]),
      // Every test may hold a pool of its own.
      "-c", "max_connections=200",
    ],
    outputPath: logPath,
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C", TZ: "UTC" },
    ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    // SIGINT is PostgreSQL's fast shutdown; its SIGTERM would wait for every client to disconnect.
    stopSignal: "INT",
  });

  const adminClient = (database = "postgres") => new pg.Client({ host: dataDir, port, user: POSTGRES_TEST_USER, database });
  try {
    await waitUntilAccepting(adminClient, proc, opts.startTimeoutMs ?? 30_000);
    const admin = adminClient();
    await admin.connect();
    try {
      await admin.query(`ALTER ROLE ${POSTGRES_TEST_USER} PASSWORD '${password}'`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await proc.stop(5_000);
    throw new Error(`${(err as Error).message}\n--- tail of ${logPath} ---\n${tail(logPath, 40)}\n(run directory kept: ${runDir})`);
  }
  const serverPid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  const ms = Date.now() - started;
  harnessLog.info({ port, dataDir, user: runAs?.name, coldInitdb, prepareMs, ms }, "PostgreSQL is up");

  let stopping: Promise<void> | undefined;
  return {
    host: "127.0.0.1",
    port,
    user: POSTGRES_TEST_USER,
    password,
    dataDir,
    serverPid,
    startup: { coldInitdb, prepareMs, ms },
    url: (database) =>
      `postgres://${POSTGRES_TEST_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    adminClient,
    stop() {
      stopping ??= (async () => {
        await proc.stop();
        if (existsSync(logPath)) copyFileSync(logPath, POSTGRES_LAST_LOG_PATH);
        if (process.env[ENV_KEEP]) harnessLog.warn({ runDir }, `${ENV_KEEP} is set: keeping the PostgreSQL data`);
        else rmSync(runDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

async function waitUntilAccepting(client: () => pg.Client, proc: SupervisedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (!proc.running()) throw new Error(`PostgreSQL exited before accepting connections (${await proc.exited})`);
    const c = client();
    // A refused connection is reported through connect(); this keeps a late socket error from becoming uncaught.
    c.on("error", () => {});
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await c.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms (last: ${lastError})`);
}
