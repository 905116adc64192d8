// The benchmark's output: a line about the machine, then one small table per scenario and direction.
import { execFileSync } from "node:child_process";
import os from "node:os";
import type { BenchOptions, ScenarioName } from "./args.js";
import { DIRECTION_LABELS, type DirectionResult } from "./measure.js";
import type { ScaleRun } from "./scale.js";

export interface ScenarioReport {
  scenario: ScenarioName;
  results: DirectionResult[];
}

export function machineSummary(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  const gib = (os.totalmem() / 1024 ** 3).toFixed(1);
  // Other work on the machine skews every number here; the load average says how much there was.
  const load = os.loadavg()[0]!.toFixed(2);
  return `machine: node ${process.version}, ${os.platform()} ${os.arch()}, ${os.availableParallelism()} cores (${model}), ${gib} GiB RAM, load average ${load} at start`;
}

/**
 * Which bridge code ran: the commit, and whether src/ had changes on top (numbers from a dirty tree are not the
 * commit's). Undefined outside a git checkout.
 */
export function codeVersion(): string | undefined {
  const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  try {
    const commit = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "src") !== "";
    return `${commit}${dirty ? " + uncommitted changes in src/" : ""}`;
  } catch {
    return undefined;
  }
}

export function runSummary(o: BenchOptions): string {
  const code = codeVersion();
  if (o.scale) {
    const s = o.scale;
    return `run (--scale): ${s.portals.join(", ")} portals × ${s.databases.join(", ")} × encryption ${s.encryption.map((e) => (e ? "on" : "off")).join(", ")}; ${o.n} messages per direction over ${o.chats} chats (fewer when fewer portals), ${o.concurrency} in flight; ${s.openConcurrency} portals opened at a time${code ? `; code ${code}` : ""}`;
  }
  return `run: ${o.n} messages per direction, ${o.concurrency} in flight, ${o.chats} chats, ${o.encrypted ? "encrypted" : "unencrypted"} portals${code ? `; code ${code}` : ""}`;
}

const COLUMNS = ["messages", "seconds", "msg/s", "p50 ms", "p95 ms", "p99 ms", "bridge CPU ms/msg", "bridge peak RSS MiB"] as const;

function row(r: DirectionResult): string[] {
  return [
    String(r.messages),
    r.seconds.toFixed(2),
    r.perSecond.toFixed(1),
    String(r.latencyMs.p50),
    String(r.latencyMs.p95),
    String(r.latencyMs.p99),
    r.bridgeCpuMsPerMessage.toFixed(2),
    `${r.bridgePeakRssMiB.toFixed(1)}${r.peakIsPerDirection ? "" : "*"}`,
  ];
}

export function formatTable(scenario: ScenarioName, r: DirectionResult): string {
  const cells = row(r);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, cells[i]!.length));
  const line = (values: readonly string[]) => `  ${values.map((v, i) => v.padStart(widths[i]!)).join("  ")}`;
  const others = Object.entries(r.otherCpuMsPerMessage).map(([name, ms]) => `${name} ${ms.toFixed(2)}`);
  const otherLine = others.length ? `\n  CPU ms/msg elsewhere: ${others.join(", ")}` : "";
  const note = r.peakIsPerDirection ? "" : "\n  * peak since the bridge started (the kernel refused to reset it)";
  return `${scenario} · ${DIRECTION_LABELS[r.direction]}\n${line(COLUMNS)}\n${line(cells)}${otherLine}${note}\n`;
}

export function formatJson(o: BenchOptions, reports: ScenarioReport[], scale?: ScaleRun[]): string {
  return `${JSON.stringify(
    {
      machine: { node: process.version, platform: os.platform(), arch: os.arch(), cores: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? null, totalMemBytes: os.totalmem(), loadAverage1m: os.loadavg()[0] },
      options: { n: o.n, concurrency: o.concurrency, chats: o.chats, encrypted: o.encrypted },
      code: codeVersion() ?? null,
      scenarios: reports,
      ...(scale ? { scale: { options: o.scale, runs: scale } } : {}),
    },
    null,
    2,
  )}\n`;
}
