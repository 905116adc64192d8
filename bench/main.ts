// `npm run bench`: N messages each way through bridge and gatekeeper, with real Synapse and with a minimal
// in-process homeserver; prints throughput, latency percentiles, bridge CPU per message and bridge peak RSS.
// Progress goes to stderr, results to stdout. Exit code 1 when any message was lost, duplicated or late.
import { BenchUsageError, parseBenchArgs, USAGE, type BenchOptions, type ScenarioName } from "./args.js";
import { CleanupStack } from "./cleanup.js";
import { BenchFailure } from "./failure.js";
import type { DirectionResult } from "./measure.js";
import { formatJson, formatTable, machineSummary, runSummary, type ScenarioReport } from "./report.js";
import { runBridgeOnly } from "./scenario-bridge-only.js";
import { formatScaleRow, runScale, scaleHeader } from "./scale.js";
import { runSynapse } from "./scenario-synapse.js";

const RUNNERS: Record<ScenarioName, typeof runBridgeOnly> = {
  "bridge-only": runBridgeOnly,
  synapse: runSynapse,
};

function progress(scenario: string): (line: string) => void {
  return (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${scenario}: ${line}\n`);
}

async function runScenario(name: ScenarioName, o: BenchOptions): Promise<DirectionResult[]> {
  const cleanup = new CleanupStack();
  const say = progress(name);
  const interrupted = () => {
    say("interrupted; stopping what was started");
    void cleanup.runAll(say).finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    return await RUNNERS[name]({ n: o.n, concurrency: o.concurrency, chats: o.chats, encrypted: o.encrypted, timeoutMs: o.timeoutMs }, cleanup, say);
  } finally {
    say("stopping");
    await cleanup.runAll(say);
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions | null;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const out = (text: string) => process.stdout.write(text);
  if (options.scale) {
    if (!options.json) out(`${machineSummary()}\n${runSummary(options)}\n\n${scaleHeader()}\n`);
    const runs = await runScale(options, progress("scale"), (run) => {
      if (!options.json) out(`${formatScaleRow(run)}\n`);
    });
    if (options.json) out(formatJson(options, [], runs));
    // A lost or duplicated message (or any other failure) in any run fails the whole benchmark.
    return runs.some((r) => "failed" in r.outcome) ? 1 : 0;
  }
  if (!options.json) out(`${machineSummary()}\n${runSummary(options)}\n\n`);
  const reports: ScenarioReport[] = [];
  for (const scenario of options.scenarios) {
    const results = await runScenario(scenario, options);
    reports.push({ scenario, results });
    if (!options.json) for (const r of results) out(`${formatTable(scenario, r)}\n`);
  }
  if (options.json) out(formatJson(options, reports));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const text = err instanceof BenchFailure ? `bench FAILED: ${err.message}` : `bench crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
    process.stderr.write(`${text}\n`);
    process.exit(1);
  },
);
