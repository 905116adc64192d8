// The PostgreSQL test harness: a real server from Debian's packages, reachable only over loopback, never as root,
// one fresh database per test, and gone after the run (even when the test process is killed).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { startPostgresCluster, type PostgresCluster } from "../harness/postgres-cluster.js";
import { isAlive } from "../harness/run-dirs.js";
import {
  createTestDatabase,
  dropTestDatabase,
  POSTGRES_START_TIMEOUT_MS,
  postgresCluster,
  postgresUnavailableReason,
  postgresUrl,
} from "../harness/postgres.js";
import { testDatabaseEngine, testDatabaseUrl } from "../support/test-database.js";

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("Uid:"));
  return Number(line?.split(/\s+/)[1]);
}

/** Local addresses of the TCP sockets listening on port, from the kernel's tables (hex, as /proc shows them). */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== "0A") continue; // 0A = LISTEN
      const [addr, hexPort] = local.split(":");
      if (parseInt(hexPort ?? "", 16) === port) found.push(addr ?? "");
    }
  }
  return found;
}


async function waitUntil(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

function skipLoudlyWithoutPostgres(ctx: Mocha.Context): void {
  const unavailable = postgresUnavailableReason();
  if (unavailable === undefined) return;
  console.warn(`    ${unavailable}; skipping`);
  ctx.skip();
}

describe("PostgreSQL test harness", function () {
  let cluster: PostgresCluster;

  before(async function () {
    this.timeout(POSTGRES_START_TIMEOUT_MS);
    if (process.env["MDB_TEST_POSTGRES_URL"]) this.skip(); // a server of your own is not ours to inspect
    skipLoudlyWithoutPostgres(this);
    const c = await postgresCluster();
    assert.ok(c, "the harness started no cluster");
    cluster = c;
  });

  it("runs the server as an unprivileged user", () => {
    assert.notEqual(uidOf(cluster.serverPid), 0, "the postmaster runs as root");
    assert.match(readFileSync(`/proc/${cluster.serverPid}/cmdline`, "utf8"), /postgres/);
  });

  it("listens on 127.0.0.1 only", async () => {
    const addresses = listeningAddresses(cluster.port);
    assert.deepEqual(addresses, ["0100007F"], `listening on ${addresses.join(", ") || "nothing"}`);
    const [row] = await query<{ listen_addresses: string }>(await postgresUrl(), "SHOW listen_addresses");
    assert.equal(row?.listen_addresses, "127.0.0.1");
    const outside = Object.values(os.networkInterfaces()).flat().find((i) => i && !i.internal && i.family === "IPv4");
    if (outside) assert.ok(await refused(outside.address, cluster.port), `the server answers on ${outside.address}`);
  });

  it("gives each test its own database, reached over TCP with a password", async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    assert.notEqual(a, b);
    assert.match(a, /^postgres:\/\/mdb_test:[^@]+@127\.0\.0\.1:\d+\/mdb_test_/);
    await query(a, "CREATE TABLE portal (id integer PRIMARY KEY, name text NOT NULL)");
    await query(a, "INSERT INTO portal VALUES (1, 'one'), (2, 'two')");
    const rows = await query<{ n: string; db: string }>(a, "SELECT count(*) AS n, current_database() AS db FROM portal");
    assert.deepEqual(rows, [{ n: "2", db: decodeURIComponent(new URL(a).pathname.slice(1)) }]);
    await assert.rejects(query(b, "SELECT * FROM portal"), (err: { code?: string }) => err.code === "42P01");
  });

  it("refuses a wrong password", async () => {
    const url = new URL(await createTestDatabase());
    url.password = "wrong";
    await assert.rejects(query(url.href, "SELECT 1"), (err: { code?: string }) => err.code === "28P01");
  });

  it("copies a template database when asked", async () => {
    const template = await createTestDatabase();
    await query(template, "CREATE TABLE migrated (v integer); INSERT INTO migrated VALUES (42)");
    const name = decodeURIComponent(new URL(template).pathname.slice(1));
    const copy = await createTestDatabase({ template: name });
    assert.deepEqual(await query(copy, "SELECT v FROM migrated"), [{ v: 42 }]);
  });

  it("drops a database, even with a session still open", async () => {
    const url = await createTestDatabase();
    const open = new pg.Client({ connectionString: url });
    open.on("error", () => {}); // the drop ends this session
    await open.connect();
    await dropTestDatabase(url);
    await assert.rejects(query(url, "SELECT 1"), (err: { code?: string }) => err.code === "3D000");
    await open.end().catch(() => {});
  });

  it("stops a server and removes its data", async function () {
    this.timeout(60_000);
    const other = await startPostgresCluster();
    assert.ok(isAlive(other.serverPid));
    await other.stop();
    assert.ok(!isAlive(other.serverPid), "the postmaster still runs after stop()");
    assert.ok(!existsSync(other.dataDir), "the data directory is left behind");
    assert.ok(await refused("127.0.0.1", other.port));
  });

  it("stops the server when the test process is killed", async function () {
    this.timeout(60_000);
    const clusterModule = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "harness", "postgres-cluster.js");
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e",
        `const { startPostgresCluster } = await import(${JSON.stringify(clusterModule)});
         const c = await startPostgresCluster();
         console.log(JSON.stringify({ pid: c.serverPid, dataDir: c.dataDir }));
         setInterval(() => {}, 1000);`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const { pid: serverPid, dataDir } = await new Promise<{ pid: number; dataDir: string }>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve(JSON.parse(line) as { pid: number; dataDir: string });
      });
      child.once("exit", (code) => reject(new Error(`the child exited (${code}) before starting PostgreSQL`)));
    });
    assert.ok(isAlive(serverPid));
    child.kill("SIGKILL");
    await waitUntil(() => !isAlive(serverPid), "the orphaned postmaster exits", 20_000);
    // The next start would sweep it; in /dev/shm it is memory, so it goes now.
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });
});

describe("test database selector (MDB_TEST_DATABASE)", () => {
  let saved: string | undefined;
  beforeEach(() => (saved = process.env["MDB_TEST_DATABASE"]));
  afterEach(() => {
    if (saved === undefined) delete process.env["MDB_TEST_DATABASE"];
    else process.env["MDB_TEST_DATABASE"] = saved;
  });

  it("defaults to a fresh SQLite path per call", async () => {
    delete process.env["MDB_TEST_DATABASE"];
    assert.equal(testDatabaseEngine(), "sqlite");
    const a = await testDatabaseUrl();
    const b = await testDatabaseUrl();
    assert.notEqual(a, b);
    assert.ok(path.isAbsolute(a) && !existsSync(a) && existsSync(path.dirname(a)));
  });

  it("gives a fresh PostgreSQL database with MDB_TEST_DATABASE=postgres", async function () {
    this.timeout(POSTGRES_START_TIMEOUT_MS);
    skipLoudlyWithoutPostgres(this);
    process.env["MDB_TEST_DATABASE"] = "postgres";
    const url = await testDatabaseUrl();
    assert.match(url, /^postgres:\/\//);
    assert.deepEqual(await query(url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [{ n: 0 }]);
  });

  it("rejects an engine it does not know", () => {
    process.env["MDB_TEST_DATABASE"] = "mysql";
    assert.throws(() => testDatabaseEngine(), /MDB_TEST_DATABASE=mysql: expected sqlite or postgres/);
  });
});
