// Runs each target in its own worker thread under a watchdog: the worker publishes the index of the input it is on,
// and when that does not move for `hangMs` the worker is terminated (which stops even a synchronous endless loop)
// and the input it was stuck on is reported as a hang. A crash of the worker itself is reported the same way.
import { Worker } from "node:worker_threads";
import { describeInput, HEADER_INTS, PHASE, SHARED_INPUT_BYTES, type EngineOptions, type Finding, type TargetReport } from "./engine.js";
import { TARGETS } from "./targets.js";

export interface RunnerOptions extends Omit<EngineOptions, "target"> {
  targets: readonly string[];
  hangMs: number;
  /** Called with a line of progress now and then. */
  say?: (line: string) => void;
}

function stuckInput(shared: SharedArrayBuffer): { iteration: number; mutating: boolean } & ReturnType<typeof describeInput> {
  const header = new Int32Array(shared, 0, HEADER_INTS);
  const bytes = new Uint8Array(shared, HEADER_INTS * 4, header[2]!).slice();
  const input = header[1] === 1 ? Buffer.from(bytes).toString("utf8") : bytes;
  return { iteration: Atomics.load(header, 0) - 1, mutating: Atomics.load(header, PHASE) === 0, ...describeInput(input) };
}

function emptyReport(target: string, o: EngineOptions, seconds: number, finding: Finding): TargetReport {
  return {
    target,
    decodes: target in TARGETS ? TARGETS[target]!().decodes : target,
    seed: o.seed,
    iterations: Math.max(0, finding.iteration),
    seconds,
    inputsPerSecond: finding.iteration / seconds,
    outcomes: {},
    corpus: 0,
    coverage: null,
    slowestMs: 0,
    findings: [finding],
    harnessErrors: {},
  };
}

export function runInWorker(o: EngineOptions, hangMs: number, say?: (line: string) => void): Promise<TargetReport> {
  const shared = new SharedArrayBuffer(HEADER_INTS * 4 + SHARED_INPUT_BYTES);
  const header = new Int32Array(shared, 0, HEADER_INTS);
  const worker = new Worker(new URL("./worker.js", import.meta.url), {
    workerData: { options: o, shared },
    // The bridge runs its decoders on the main thread, whose stack is about 1 MB; a worker's is 4 MB by default,
    // which would hide a recursion that overflows in production.
    resourceLimits: { stackSizeMb: 1 },
  });
  const started = Date.now();
  return new Promise((resolve) => {
    let last = -1;
    let lastMoved = Date.now();
    let cpuAtMove = process.cpuUsage();
    let settled = false;
    const finish = (report: TargetReport) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      resolve(report);
    };
    const watchdog = setInterval(() => {
      const now = Atomics.load(header, 0);
      if (now !== last) {
        last = now;
        lastMoved = Date.now();
        cpuAtMove = process.cpuUsage();
        return;
      }
      // Loading the modules and building the seeds (a key pair for the config target) comes before input 1.
      const limit = now === 0 ? Math.max(hangMs, 30_000) : hangMs;
      if (Date.now() - lastMoved < limit) return;
      // Stuck means busy: a worker the machine starves of CPU (it is shared) is waited for. The process's CPU time
      // is the worker's, give or take this watchdog.
      const cpu = process.cpuUsage(cpuAtMove);
      if ((cpu.user + cpu.system) / 1000 < limit / 2) return;
      const stuck = stuckInput(shared);
      void worker.terminate();
      const message = stuck.mutating
        ? `the fuzzer's mutator made no progress for ${limit} ms, mutating a corpus entry after input ${stuck.iteration} (shown: that input)`
        : `no progress for ${limit} ms on one input`;
      finish(emptyReport(o.target, o, (Date.now() - started) / 1000, { kind: stuck.mutating ? "harness" : "hang", iteration: stuck.iteration, message, input: stuck.input, inputKind: stuck.inputKind }));
    }, Math.min(250, hangMs / 4));
    worker.on("message", (m: { type: "progress"; done: number } | { type: "report"; report: TargetReport }) => {
      if (m.type === "report") finish(m.report);
      else if (say && m.done > 0) say(`${o.target}: ${m.done} inputs`);
    });
    worker.on("error", (err) => {
      const stuck = stuckInput(shared);
      finish(emptyReport(o.target, o, (Date.now() - started) / 1000, { kind: "crash", iteration: stuck.iteration, message: `the worker died: ${err.stack ?? String(err)}`, input: stuck.input, inputKind: stuck.inputKind }));
    });
    worker.on("exit", (code) => {
      if (settled) return;
      const stuck = stuckInput(shared);
      finish(emptyReport(o.target, o, (Date.now() - started) / 1000, { kind: "crash", iteration: stuck.iteration, message: `the worker exited with code ${code}`, input: stuck.input, inputKind: stuck.inputKind }));
    });
  });
}

/** Runs the targets one after the other (the machine is shared; one core for the fuzzer is enough). */
export async function runFuzz(o: RunnerOptions): Promise<TargetReport[]> {
  const reports: TargetReport[] = [];
  for (const target of o.targets) {
    const { targets: _t, hangMs, say, ...engine } = o;
    const report = await runInWorker({ ...engine, target }, hangMs, say);
    say?.(`${target}: done, ${report.iterations} inputs in ${report.seconds.toFixed(0)} s, ${report.findings.length} findings${report.findings.map((f) => `; ${f.kind}: ${f.message.split("\n")[0]}`).join("")}`);
    reports.push(report);
  }
  return reports;
}
