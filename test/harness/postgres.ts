// The PostgreSQL that store tests run against: one throwaway cluster per test process, started on first use
// (runs without PostgreSQL tests never pay for it) and stopped by the mocha root hook after the last test; a
// fresh database per test (or suite) from createTestDatabase().
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { registerCleanup } from "./cleanup.js";
import { harnessLog } from "./log.js";
import { startPostgresCluster, type PostgresCluster } from "./postgres-cluster.js";
import { repoRoot } from "./repo-root.js";

/** For a before() hook that may be the first to need the server: covers installing the package once (~30 s). */
export const POSTGRES_START_TIMEOUT_MS = 5 * 60_000;

const ENV_URL = "MDB_TEST_POSTGRES_URL";

interface Server {
  /** URL of a database on this server. */
  url(database: string): string;
  /** A superuser (or CREATEDB) session for creating and dropping test databases. */
  admin: pg.Client;
  cluster: PostgresCluster | undefined;
  stop(): Promise<void>;
}

let server: Promise<Server> | undefined;
let counter = 0;
const created = new Set<string>();

function shared(): Promise<Server> {
  server ??= open().catch((err: unknown) => {
    // The next caller tries again and gets its own error, rather than every test failing with one stale rejection.
    server = undefined;
    throw err;
  });
  return server;
}

async function open(): Promise<Server> {
  const external = process.env[ENV_URL];
  if (external !== undefined && external !== "") return openExternal(external);
  const cluster = await startPostgresCluster();
  let admin: pg.Client;
  try {
    admin = await connectAdmin(cluster.adminClient());
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  const srv: Server = {
    url: cluster.url,
    admin,
    cluster,
    async stop() {
      await admin.end().catch(() => {});
      await cluster.stop();
    },
  };
  registerCleanup(async () => {
    server = undefined;
    await srv.stop();
  });
  return srv;
}

/** A server of your own: test databases are created on it and dropped again after the run. */
async function openExternal(raw: string): Promise<Server> {
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new Error(`${ENV_URL} is not a URL (expected postgres://user:password@host:port/database)`);
  }
  if (base.protocol !== "postgres:" && base.protocol !== "postgresql:") {
    throw new Error(`${ENV_URL} must be a postgres:// URL, not ${base.protocol}`);
  }
  const url = (database: string) => {
    const u = new URL(base.href);
    u.pathname = "/" + encodeURIComponent(database);
    return u.href;
  };
  const admin = await connectAdmin(new pg.Client({ connectionString: base.href }));
  harnessLog.info({ host: base.host }, `using the external PostgreSQL from ${ENV_URL}`);
  const srv: Server = {
    url,
    admin,
    cluster: undefined,
    async stop() {
      // Our own cluster goes away whole; on someone else's server we remove what we made.
      for (const name of created) await dropDatabase(admin, name).catch((err: unknown) => harnessLog.warn({ err, name }, "could not drop a test database"));
      created.clear();
      await admin.end().catch(() => {});
    },
  };
  registerCleanup(async () => {
    server = undefined;
    await srv.stop();
  });
  return srv;
}

async function connectAdmin(client: pg.Client): Promise<pg.Client> {
  // Without a listener, the server ending the session (its shutdown after the run) would be an uncaught error.
  client.on("error", (err) => harnessLog.debug({ err }, "the harness's PostgreSQL admin session ended"));
  await client.connect();
  return client;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  // WITH (FORCE) ends sessions a test left open (PostgreSQL 13 and later).
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Why this machine cannot have a test PostgreSQL, or undefined when it can: a server of your own is configured,
 * the binaries are installed, or we are root (the harness then installs them). For a suite that would rather
 * skip, loudly, than fail where no server can exist.
 */
export function postgresUnavailableReason(): string | undefined {
  if (process.env[ENV_URL]) return undefined;
  if (typeof process.getuid === "function" && process.getuid() === 0) return undefined;
  const check = spawnSync("bash", [path.join(repoRoot(), "scripts", "postgres.sh"), "--check"], { stdio: "ignore" });
  if (check.status === 0) return undefined;
  return `PostgreSQL is not installed and we are not root to install it: apt-get install postgresql, or set ${ENV_URL} (see test/harness/README.md)`;
}

/**
 * For a suite's before() hook: skips it, loudly, where no test PostgreSQL can exist; otherwise starts the shared
 * server under a timeout that covers a first installation, so the first test does not pay for it.
 */
export async function needPostgres(suite: Mocha.Context, what: string): Promise<void> {
  const unavailable = postgresUnavailableReason();
  if (unavailable !== undefined) {
    console.warn(`    ${unavailable}; skipping ${what}`);
    suite.skip();
  }
  suite.timeout(POSTGRES_START_TIMEOUT_MS);
  await postgresUrl();
}

/** The URL of a database on the shared test server (default: the `postgres` maintenance database). */
export async function postgresUrl(database = "postgres"): Promise<string> {
  return (await shared()).url(database);
}

/** The shared cluster, when the harness started one (undefined with MDB_TEST_POSTGRES_URL). For the harness's own tests. */
export async function postgresCluster(): Promise<PostgresCluster | undefined> {
  return (await shared()).cluster;
}

export interface CreateTestDatabaseOptions {
  /**
   * Copy this database instead of the empty template1, e.g. one the suite migrated once: cloning is faster than
   * migrating again. Nobody may be connected to it while it is copied.
   */
  template?: string;
}

/** Creates an empty database with a unique name on the shared test server and returns its postgres:// URL. */
export async function createTestDatabase(opts: CreateTestDatabaseOptions = {}): Promise<string> {
  const srv = await shared();
  const name = `mdb_test_${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
  await srv.admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(opts.template ?? "template1")}`);
  created.add(name);
  return srv.url(name);
}

/** Drops a database made by createTestDatabase (the ones left are dropped with the server after the run). */
export async function dropTestDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!created.has(name)) throw new Error(`${name} was not made by createTestDatabase`);
  await dropDatabase((await shared()).admin, name);
  created.delete(name);
}
