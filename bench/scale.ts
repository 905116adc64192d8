// `npm run bench -- --scale`: how the bridge grows with its portals. For each size, database and encryption a fresh
// gatekeeper (with that many simulated users), fake homeserver and bridge; the Matrix user opens every portal, then
// messages go each way over a few of them (the active chats), with the same exactly-once accounting as the plain
// benchmark, and finally the bridge is restarted to time its start-up with that many portals.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { puppetUserId } from "../src/config/identities.js";
import { providerPublicKey } from "../src/config/provider-key.js";
import { generateRegistration, renderRegistration } from "../src/config/registration.js";
import { makeTestConfig } from "../test/harness/config.js";
import { freePort } from "../test/harness/free-port.js";
import { BridgeProcess } from "../test/e2e/bridge-process.js";
import { startPostgresCluster, type PostgresCluster } from "../test/harness/postgres-cluster.js";
import type { BenchOptions, DatabaseName } from "./args.js";
import { CleanupStack } from "./cleanup.js";
import { BenchFailure } from "./failure.js";
import { FakeHomeserver } from "./fake-homeserver.js";
import { FakeHomeserverUser } from "./fake-homeserver-user.js";
import { benchProcess, bridgeTail, childProcess, measureBothDirections, openPortals, problemReport, type DirectionResult } from "./measure.js";
import { peakRssBytes, rssBytes } from "./process-meter.js";
import { benchContacts, WhatsAppSide } from "./whatsapp-side.js";

const SERVER_NAME = "localhost";
const MiB = 1024 * 1024;
/** After the last portal opened: trailing work (profile updates, receipts) before memory is read. */
const SETTLE_MS = 2000;

export interface ScaleRun {
  portals: number;
  database: DatabaseName;
  encrypted: boolean;
  /** Chats the messages went through. */
  activeChats: number;
  /** The machine's 1-minute load average when the run began (other users' work skews every figure). */
  loadAtStart: number;
  outcome: ScaleOutcome | { failed: string };
}

export interface ScaleOutcome {
  /** First invitation to the last puppet's join. */
  openSeconds: number;
  openedPerSecond: number;
  /** Resident memory once every portal was open and the bridge had settled. */
  rssAfterOpenMiB: number;
  /** The highest resident memory from the bridge's start until the portals were open. */
  peakWhileOpeningMiB: number;
  directions: DirectionResult[];
  /** The highest resident memory over the bridge's first life (opening and both message runs). */
  peakRssMiB: number;
  /** A restart with every portal in the database: process start to answering on its health endpoint. */
  startupSeconds: number;
  rssAfterStartupMiB: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScale(o: BenchOptions, progress: (line: string) => void, onRun: (run: ScaleRun) => void): Promise<ScaleRun[]> {
  const scale = o.scale!;
  const outer = new CleanupStack();
  let stopping = false;
  const interrupted = () => {
    stopping = true;
    progress("interrupted; stopping what was started");
    void outer.runAll(progress).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  const runs: ScaleRun[] = [];
  try {
    let postgres: PostgresCluster | undefined;
    if (scale.databases.includes("postgres")) {
      // Durable as deployed (fsync and synchronous commit on), unlike the test clusters: SQLite's WAL is durable too.
      progress("starting PostgreSQL (Debian's binaries, loopback, a throwaway cluster with production durability)");
      postgres = await startPostgresCluster({ durable: true });
      outer.add("PostgreSQL", () => postgres!.stop());
    }
    const createDatabase = async (name: string) => {
      const admin = postgres!.adminClient();
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return postgres!.url(name);
    };
    let dbCounter = 0;
    for (const portals of scale.portals) {
      for (const database of scale.databases) {
        for (const encrypted of scale.encryption) {
          if (stopping) return runs;
          const label = `${portals} portals, ${database}, ${encrypted ? "encrypted" : "unencrypted"}`;
          const say = (line: string) => progress(`${label}: ${line}`);
          const run: ScaleRun = { portals, database, encrypted, activeChats: Math.min(o.chats, portals), loadAtStart: os.loadavg()[0]!, outcome: { failed: "not run" } };
          const cleanup = new CleanupStack();
          outer.add(`the run with ${label}`, () => cleanup.runAll(say));
          try {
            const url = database === "postgres" ? await createDatabase(`bench_${process.pid}_${++dbCounter}`) : undefined;
            run.outcome = await runOne(o, { portals, encrypted, databaseUrl: url }, cleanup, say);
          } catch (err) {
            if (!(err instanceof BenchFailure)) throw err;
            run.outcome = { failed: err.message };
            say(`FAILED: ${err.message}`);
          } finally {
            say("stopping");
            await cleanup.runAll(say);
          }
          runs.push(run);
          onRun(run);
        }
      }
    }
    return runs;
  } finally {
    await outer.runAll(progress);
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
}

async function runOne(o: BenchOptions, c: { portals: number; encrypted: boolean; databaseUrl: string | undefined }, cleanup: CleanupStack, progress: (line: string) => void): Promise<ScaleOutcome> {
  const dir = mkdtempSync(join(os.tmpdir(), "mdb-bench-scale-"));
  cleanup.add("the bench directory", () => rmSync(dir, { recursive: true, force: true }));

  const contacts = benchContacts(c.portals);
  const active = contacts.slice(0, Math.min(o.chats, c.portals));
  progress(`starting the reference gatekeeper with ${contacts.length} simulated users`);
  const whatsapp = await WhatsAppSide.start(contacts, { watch: active, progress });
  cleanup.add("the gatekeeper", () => whatsapp.stop());

  const registrationPath = join(dir, "registration.yaml");
  const draft = makeTestConfig({
    homeserverUrl: "http://127.0.0.1:9",
    domain: SERVER_NAME,
    appservicePort: await freePort(),
    registrationPath,
    dataDir: dir,
    gatekeeperUrl: whatsapp.url,
    overrides: {
      bridge: { encryption: { default: c.encrypted, allow: true } },
      ...(c.databaseUrl ? { database: { type: "postgres", url: c.databaseUrl } } : {}),
    },
  });
  const registration = generateRegistration(draft);
  writeFileSync(registrationPath, renderRegistration(registration), { mode: 0o600 });
  const hs = await FakeHomeserver.start({ serverName: SERVER_NAME, registration });
  cleanup.add("the fake homeserver", () => hs.close());
  const config = { ...draft, homeserver: { ...draft.homeserver, url: hs.url } };
  await whatsapp.enlist(config.gatekeeper.provider_id, providerPublicKey(config.gatekeeper.provider_key), SERVER_NAME);

  progress("starting the bridge");
  const bridge = new BridgeProcess(config, dir);
  cleanup.add("the bridge", () => bridge.stop());
  await bridge.start(120_000);
  const matrix = await FakeHomeserverUser.create(hs, `@benchuser:${SERVER_NAME}`, { encrypted: c.encrypted });
  cleanup.add("the Matrix user", () => matrix.stop());
  const parts = {
    bridge,
    matrix,
    whatsapp,
    puppetUserId: (phone: string) => puppetUserId(config, phone),
    others: [childProcess("gatekeeper", "node", "gatekeeper/cli.js"), benchProcess("bench process (load, fake homeserver)")],
    problems: () => [...hs.allProblems(), ...matrix.problems],
    progress,
  };
  const pid = () => {
    const p = bridge.pid;
    if (p === undefined) throw new BenchFailure(`the bridge process is not running${bridgeTail(parts)}`);
    return p;
  };

  progress(`opening ${contacts.length} portals, ${o.scale!.openConcurrency} at a time`);
  const openedAt = Date.now();
  let opened;
  try {
    opened = await openPortals(parts, contacts, { encrypted: c.encrypted, concurrency: o.scale!.openConcurrency, timeoutMs: o.timeoutMs });
  } catch (err) {
    throw new BenchFailure(`opening portals: ${(err as Error).message}${bridgeTail(parts)}`);
  }
  const openSeconds = (Date.now() - openedAt) / 1000;
  const problem = problemReport(parts, []);
  if (problem) throw new BenchFailure(`opening portals: ${problem}`);
  await sleep(SETTLE_MS);
  const rssAfterOpen = rssBytes(pid());
  const peakWhileOpening = peakRssBytes(pid());
  progress(`${contacts.length} portals open in ${openSeconds.toFixed(1)} s; bridge RSS ${(rssAfterOpen / MiB).toFixed(0)} MiB (peak ${(peakWhileOpening / MiB).toFixed(0)} MiB)`);

  // The per-direction peaks reset the kernel's high-water mark, so the life-long peak is the highest of the three.
  const directions = await measureBothDirections(parts, { scenario: "scale", n: o.n, concurrency: o.concurrency, timeoutMs: o.timeoutMs, encrypted: c.encrypted }, opened);
  const peakRss = Math.max(peakWhileOpening, ...directions.map((d) => d.bridgePeakRssMiB * MiB));

  progress("restarting the bridge to time its start-up");
  await bridge.stop();
  const startedAt = Date.now();
  await bridge.start(120_000);
  const startupSeconds = (Date.now() - startedAt) / 1000;
  const rssAfterStartup = rssBytes(pid());

  return {
    openSeconds,
    openedPerSecond: contacts.length / openSeconds,
    rssAfterOpenMiB: rssAfterOpen / MiB,
    peakWhileOpeningMiB: peakWhileOpening / MiB,
    directions,
    peakRssMiB: peakRss / MiB,
    startupSeconds,
    rssAfterStartupMiB: rssAfterStartup / MiB,
  };
}

const COLUMNS = ["portals", "database", "E2EE", "load", "open s", "RSS open", "RSS peak", "CPU M→W", "CPU W→M", "p99 M→W", "p99 W→M", "start-up s", "RSS start"] as const;

export function scaleHeader(): string {
  return `${line(COLUMNS.map((c) => c))}\n  (RSS in MiB; CPU = bridge CPU ms per message; p99 in ms; messages over the first --chats portals)`;
}

function line(cells: readonly string[]): string {
  return `  ${cells.map((v, i) => v.padStart(Math.max(COLUMNS[i]!.length, 8))).join("  ")}`;
}

export function formatScaleRow(r: ScaleRun): string {
  const head = [String(r.portals), r.database, r.encrypted ? "on" : "off", r.loadAtStart.toFixed(2)];
  if ("failed" in r.outcome) return `${line([...head, "FAILED"])}\n    ${r.outcome.failed.split("\n").join("\n    ")}`;
  const x = r.outcome;
  const dir = (d: string) => x.directions.find((e) => e.direction === d)!;
  const mw = dir("matrix-to-whatsapp");
  const wm = dir("whatsapp-to-matrix");
  return line([
    ...head,
    x.openSeconds.toFixed(1),
    x.rssAfterOpenMiB.toFixed(0),
    x.peakRssMiB.toFixed(0),
    mw.bridgeCpuMsPerMessage.toFixed(2),
    wm.bridgeCpuMsPerMessage.toFixed(2),
    String(mw.latencyMs.p99),
    String(wm.latencyMs.p99),
    x.startupSeconds.toFixed(2),
    x.rssAfterStartupMiB.toFixed(0),
  ]);
}
