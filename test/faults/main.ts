// `npm run faults -- [--minutes N] [--seed S] [--bridge-kills N] [--gatekeeper-kills N] [--stops N]
// [--synapse-restarts N] [--disk-full N] [--stop-seconds S] [--json]`: the long fault-injection run (see run.ts). Needs root for the
// harness Synapse (or MDB_TEST_SYNAPSE_* for one of your own, which cannot be restarted: then pass
// --synapse-restarts 0). Prints the counts per fault; exit code 1 on any loss, duplicate, reordering or
// undecryptable message.
import { stopTestEnv } from "../harness/fixture.js";
import { canRunLocalSynapse, ensureSynapseRoot } from "../harness/synapse-root.js";
import { formatReport, problemsOf, runFaults, type FaultOptions } from "./run.js";

function parse(argv: readonly string[]): FaultOptions & { json: boolean } {
  let minutes = 10;
  const counts: Record<string, number | undefined> = {};
  const o = { seed: Date.now() % 2 ** 31, json: false, stopSeconds: 70 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a number`);
      return n;
    };
    if (flag === "--minutes") minutes = num();
    else if (flag === "--seed") o.seed = num();
    else if (flag === "--stop-seconds") o.stopSeconds = num();
    else if (flag === "--json") o.json = true;
    else if (["--bridge-kills", "--gatekeeper-kills", "--stops", "--synapse-restarts", "--disk-full"].includes(flag)) counts[flag] = num();
    else throw new Error(`unknown option ${flag}`);
  }
  // Per 10 minutes: 10 bridge SIGKILLs, 10 gatekeeper kills, 2 SIGSTOPs, 2 Synapse restarts.
  const scaled = (n: number) => Math.max(1, Math.round((n * minutes) / 10));
  return {
    ...o,
    seconds: minutes * 60,
    faults: {
      "bridge-sigkill": counts["--bridge-kills"] ?? scaled(10),
      "gatekeeper-kill": counts["--gatekeeper-kills"] ?? scaled(10),
      "bridge-sigstop": counts["--stops"] ?? scaled(2),
      "synapse-restart": counts["--synapse-restarts"] ?? scaled(2),
      // Needs root (a tmpfs); off unless asked for.
      "disk-full": counts["--disk-full"] ?? 0,
    },
  };
}

async function main(): Promise<number> {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const say = (line: string) => process.stderr.write(`[faults ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  if (!process.env["MDB_TEST_SYNAPSE_URL"] && canRunLocalSynapse()) await ensureSynapseRoot();
  say(`seed ${options.seed}, ${options.seconds / 60} min of traffic, faults ${JSON.stringify(options.faults)}`);
  try {
    const report = await runFaults({ ...options, say });
    process.stdout.write((options.json ? JSON.stringify(report, null, 2) : formatReport(report)) + "\n");
    const problems = problemsOf(report);
    for (const p of problems) process.stdout.write(`PROBLEM: ${p}\n`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    await stopTestEnv();
  }
}

process.exitCode = await main();
process.exit();
