// The fuzzing loop for one target, run inside a worker thread (see runner.ts): pick a corpus entry, mutate it, run
// the decoder, classify what happened. Before each input it is written to a shared buffer, so the parent can name
// the input that hangs when it has to terminate the worker.
import { performance } from "node:perf_hooks";
import { CoverageFeedback, isCodeUnderTest } from "./coverage.js";
import { hashName, random } from "./random.js";
import { FuzzFinding, TARGETS, type Input, type Target } from "./targets.js";

export interface EngineOptions {
  target: string;
  iterations: number;
  seed: number;
  /** How many of the first inputs are run under coverage feedback (0: none). */
  guided: number;
  /** An input that takes more CPU time than this is a finding. */
  slowMs: number;
  /** Stop the target after this many findings. */
  maxFindings: number;
  /** Stop after this many seconds even if fewer inputs ran (a time budget, for CI). */
  maxSeconds?: number;
  /** A module whose TARGETS are added to the built-in ones (tests plant targets with known bugs this way). */
  targetModule?: string;
}

export interface Finding {
  kind: "crash" | "property" | "slow" | "hang" | "harness";
  iteration: number;
  message: string;
  /** The input: hex for bytes, the text itself for text targets. */
  input: string;
  inputKind: "bytes" | "text";
}

export interface TargetReport {
  target: string;
  decodes: string;
  seed: number;
  iterations: number;
  seconds: number;
  inputsPerSecond: number;
  outcomes: Record<string, number>;
  corpus: number;
  coverage: { guidedInputs: number; blocks: number; seconds: number } | null;
  slowestMs: number;
  findings: Finding[];
  /** Errors of the fuzzer's own mutators (the base input was used instead); a bug in the fuzzer, not a finding. */
  harnessErrors: Record<string, number>;
}

/**
 * Layout of the buffer shared with the parent: [inputs started, kind (0 bytes, 1 text), length, phase (0 mutating,
 * 1 running)] then the input bytes. The phase tells a hang of the decoder from one of the fuzzer's own mutators.
 */
export const HEADER_INTS = 4;
export const PHASE = 3;
export const SHARED_INPUT_BYTES = 1 << 20;

export function describeInput(input: Input): { input: string; inputKind: "bytes" | "text" } {
  return typeof input === "string" ? { input, inputKind: "text" } : { input: Buffer.from(input).toString("hex"), inputKind: "bytes" };
}

const MAX_CORPUS = 4096;

export function runTarget(o: EngineOptions, shared?: SharedArrayBuffer, progress?: (done: number) => void, extra: Record<string, () => Target> = {}): TargetReport {
  const make = extra[o.target] ?? TARGETS[o.target];
  if (!make) throw new Error(`unknown fuzz target ${o.target}`);
  const target: Target = make();
  const header = shared ? new Int32Array(shared, 0, HEADER_INTS) : undefined;
  const body = shared ? new Uint8Array(shared, HEADER_INTS * 4) : undefined;
  const r = random((o.seed ^ hashName(o.target)) >>> 0);
  const corpus: Input[] = target.seeds();
  const outcomes = new Map<string, number>();
  const findings: Finding[] = [];
  const findingMessages = new Set<string>();
  let slowestMs = 0;
  let coverage: CoverageFeedback | undefined = o.guided > 0 ? new CoverageFeedback(isCodeUnderTest) : undefined;
  let coverageSeconds = 0;
  let guidedInputs = 0;
  let blocks = 0;
  const harnessErrors = new Map<string, number>();
  const started = performance.now();

  const publish = (i: number, input: Input) => {
    if (!header || !body) return;
    const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
    const n = Math.min(bytes.length, body.length);
    body.set(bytes.subarray(0, n));
    header[1] = typeof input === "string" ? 1 : 0;
    header[2] = n;
    header[PHASE] = 1;
    Atomics.store(header, 0, i + 1);
  };

  // The seeds first, unmutated: a seed that fails is a finding too.
  const pending: Input[] = [...corpus];
  const deadline = o.maxSeconds === undefined ? Infinity : started + o.maxSeconds * 1000;
  for (let i = 0; i < o.iterations && findings.length < o.maxFindings; i++) {
    if ((i & 0xff) === 0 && performance.now() > deadline) break;
    if (header) Atomics.store(header, PHASE, 0);
    const input: Input = pending.pop() ?? mutate(target, r, corpus, harnessErrors);
    publish(i, input);
    let outcome = "accepted";
    // CPU time, not wall time: on a loaded machine a starved input would otherwise pass for a slow one.
    const t0 = process.cpuUsage();
    try {
      target.run(input);
    } catch (err) {
      const expected = err instanceof FuzzFinding ? undefined : target.expected(err);
      if (expected === undefined) {
        const kind = err instanceof FuzzFinding ? "property" : "crash";
        const message = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 500) : String(err);
        outcome = `FINDING ${kind}`;
        if (!findingMessages.has(message)) {
          findingMessages.add(message);
          findings.push({ kind, iteration: i, message: err instanceof Error && err.stack ? `${message}\n${err.stack.split("\n").slice(1, 6).join("\n")}` : message, ...describeInput(input) });
        }
      } else outcome = expected;
    }
    const used = process.cpuUsage(t0);
    const ms = (used.user + used.system) / 1000;
    if (ms > slowestMs) slowestMs = ms;
    if (ms > o.slowMs && findings.length < o.maxFindings) {
      findings.push({ kind: "slow", iteration: i, message: `took ${ms.toFixed(0)} ms of CPU (limit ${o.slowMs} ms)`, ...describeInput(input) });
    }
    const firstOfOutcome = !outcomes.has(outcome);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    if (coverage) {
      const c0 = performance.now();
      const fresh = coverage.collect();
      coverageSeconds += (performance.now() - c0) / 1000;
      guidedInputs++;
      if (fresh > 0 && corpus.length < MAX_CORPUS) corpus.push(input);
      if (guidedInputs >= o.guided) {
        blocks = coverage.size;
        coverage.stop();
        coverage = undefined;
      }
    } else if (firstOfOutcome && corpus.length < MAX_CORPUS) {
      // Without coverage, a new kind of outcome is the signal that the input got somewhere new.
      corpus.push(input);
    }
    if (progress && (i & 0x3fff) === 0) progress(i);
  }
  if (coverage) {
    blocks = coverage.size;
    coverage.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const iterations = [...outcomes.values()].reduce((a, b) => a + b, 0);
  return {
    target: o.target,
    decodes: target.decodes,
    seed: o.seed,
    iterations,
    seconds,
    inputsPerSecond: iterations / seconds,
    outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    harnessErrors: Object.fromEntries(harnessErrors),
    corpus: corpus.length,
    coverage: o.guided > 0 ? { guidedInputs, blocks, seconds: coverageSeconds } : null,
    slowestMs,
    findings,
  };
}

function mutate(target: Target, r: ReturnType<typeof random>, corpus: readonly Input[], errors: Map<string, number>): Input {
  const base = r.pick(corpus);
  try {
    return target.mutate(r, base as never, corpus as never);
  } catch (err) {
    const key = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 120) : String(err);
    errors.set(key, (errors.get(key) ?? 0) + 1);
    return base;
  }
}

/** Runs one input once (to replay a finding). */
export function replay(targetName: string, input: Input): string {
  const target = TARGETS[targetName]!();
  try {
    target.run(input);
    return "accepted";
  } catch (err) {
    const expected = err instanceof FuzzFinding ? undefined : target.expected(err);
    return expected ?? `FINDING ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
}
