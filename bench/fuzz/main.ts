// `npm run fuzz -- [--iterations N] [--target NAME]... [--seed S] [--guided N] [--json]`: drives every decoder of
// untrusted input with generated and mutated inputs (see targets.ts) and prints, per target, inputs/s, outcomes and
// findings (a crash, an input over the time limit, a hang, a broken property). Exit code 1 on any finding.
// `--replay FILE --target NAME` runs one saved input (a finding's .bin/.txt file) once.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { replay, type TargetReport } from "./engine.js";
import { runFuzz } from "./runner.js";
import { TARGETS } from "./targets.js";

const USAGE = `usage: npm run fuzz -- [--iterations N] [--target NAME]... [--seed S] [--guided N] [--seconds S] [--slow-ms MS] [--hang-ms MS] [--json] [--findings DIR]
       npm run fuzz -- --replay FILE --target NAME
targets: ${Object.keys(TARGETS).join(", ")}`;

interface Args {
  iterations: number;
  targets: string[];
  seed: number;
  guided: number | undefined;
  slowMs: number;
  hangMs: number;
  json: boolean;
  findingsDir: string;
  replay: string | undefined;
  seconds: number | undefined;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { iterations: 10_000, targets: [], seed: Date.now() % 2 ** 31, guided: undefined, slowMs: 2000, hangMs: 10_000, json: false, findingsDir: "fuzz-findings", replay: undefined, seconds: undefined };
  const number = (flag: string, v: string | undefined) => {
    const n = Number(v?.replace(/_/g, "").replace(/e(\d+)$/i, (_m, e: string) => "0".repeat(Number(e))));
    if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} needs a whole number, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => argv[++i];
    switch (flag) {
      case "--iterations":
      case "-n":
        a.iterations = number(flag, value());
        break;
      case "--target":
      case "-t": {
        const t = value() ?? "";
        if (!(t in TARGETS)) throw new Error(`unknown target ${JSON.stringify(t)}`);
        a.targets.push(t);
        break;
      }
      case "--seed":
        a.seed = number(flag, value());
        break;
      case "--guided":
        a.guided = number(flag, value());
        break;
      case "--slow-ms":
        a.slowMs = number(flag, value());
        break;
      case "--hang-ms":
        a.hangMs = number(flag, value());
        break;
      case "--seconds":
        a.seconds = number(flag, value());
        break;
      case "--json":
        a.json = true;
        break;
      case "--findings":
        a.findingsDir = value() ?? a.findingsDir;
        break;
      case "--replay":
        a.replay = value();
        break;
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  if (a.targets.length === 0) a.targets = Object.keys(TARGETS);
  return a;
}

function formatReport(r: TargetReport): string {
  const outcomes = Object.entries(r.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const cov = r.coverage ? `, coverage-guided ${r.coverage.guidedInputs} inputs -> ${r.coverage.blocks} blocks, corpus ${r.corpus}` : `, corpus ${r.corpus}`;
  const head = `${r.target.padEnd(24)} ${String(r.iterations).padStart(9)} inputs in ${r.seconds.toFixed(1).padStart(6)} s = ${Math.round(r.inputsPerSecond).toString().padStart(6)}/s, slowest ${r.slowestMs.toFixed(1)} ms${cov}, ${r.findings.length} findings`;
  const harness = Object.entries(r.harnessErrors).map(([k, v]) => `${k} (${v}x)`);
  return `${head}\n    ${r.decodes}\n    outcomes: ${outcomes || "-"}${harness.length > 0 ? `\n    fuzzer's own errors (inputs reused): ${harness.join("; ")}` : ""}`;
}

function saveFindings(dir: string, reports: readonly TargetReport[]): string[] {
  const files: string[] = [];
  for (const r of reports) {
    r.findings.forEach((f, i) => {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${r.target}-${r.seed}-${i}.${f.inputKind === "bytes" ? "bin" : "txt"}`);
      writeFileSync(file, f.inputKind === "bytes" ? Buffer.from(f.input, "hex") : f.input);
      files.push(file);
    });
  }
  return files;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.replay) {
    const target = args.targets[0]!;
    const raw = readFileSync(args.replay);
    process.stdout.write(`${replay(target, args.replay.endsWith(".txt") ? raw.toString("utf8") : new Uint8Array(raw))}\n`);
    return 0;
  }
  const say = (line: string) => process.stderr.write(`[fuzz ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  say(`seed ${args.seed}, ${args.iterations} inputs per target, targets: ${args.targets.join(", ")}`);
  const reports = await runFuzz({
    targets: args.targets,
    iterations: args.iterations,
    seed: args.seed,
    guided: args.guided ?? Math.min(20_000, Math.ceil(args.iterations / 10)),
    slowMs: args.slowMs,
    hangMs: args.hangMs,
    maxFindings: 10,
    ...(args.seconds !== undefined ? { maxSeconds: args.seconds } : {}),
    say,
  });
  const findings = reports.reduce((n, r) => n + r.findings.length, 0);
  const files = saveFindings(args.findingsDir, reports);
  if (args.json) process.stdout.write(JSON.stringify(reports, null, 2) + "\n");
  else {
    for (const r of reports) {
      process.stdout.write(formatReport(r) + "\n");
      for (const f of r.findings) process.stdout.write(`    FINDING ${f.kind} at input ${f.iteration}: ${f.message}\n      input (${f.inputKind}): ${f.input.slice(0, 400)}\n`);
    }
    const total = reports.reduce((n, r) => n + r.iterations, 0);
    const seconds = reports.reduce((n, r) => n + r.seconds, 0);
    process.stdout.write(`total: ${total} inputs over ${reports.length} targets in ${seconds.toFixed(1)} s, ${findings} findings (seed ${args.seed})\n`);
    if (files.length > 0) process.stdout.write(`inputs saved: ${files.join(", ")}; replay with npm run fuzz -- --replay FILE --target NAME\n`);
  }
  return findings > 0 ? 1 : 0;
}

process.exitCode = await main();
