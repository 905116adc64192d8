// Command-line options of `npm run bench`, checked up front so a typo fails in a second rather than after Synapse
// has started.
import { parseArgs } from "node:util";

export const SCENARIOS = ["bridge-only", "synapse"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenarios: ScenarioName[];
  /** Measured messages per direction (warm-up messages come on top). */
  n: number;
  /** Messages in flight at once per direction: a closed loop, so latency is not client-side queueing. */
  concurrency: number;
  /** Chats (portals) the messages are spread over; each is one simulated WhatsApp user. */
  chats: number;
  /** Portals with Matrix end-to-end encryption (needs Matrix E2EE in the bridge). */
  encrypted: boolean;
  /** A message that has not arrived after this long fails the run. */
  timeoutMs: number;
  /** Print the results as one JSON document instead of tables. */
  json: boolean;
}

export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}

export const USAGE = `usage: npm run bench -- [options]      (or: make bench ARGS="...")

  --scenario <name>   bridge-only, synapse or all (default: all)
                        bridge-only: the homeserver is a minimal in-process CS-API responder
                        synapse:     a real Synapse (built on first use; needs root, or MDB_TEST_SYNAPSE_URL)
  --n <count>         messages per direction (default: 500)
  --concurrency <k>   messages in flight per direction (default: 10)
  --chats <count>     portals the messages are spread over (default: 10)
  --encrypted         encrypted portals (Matrix E2EE): the Matrix user has a crypto device
  --timeout <s>       seconds a message may take before the run fails (default: 120)
  --json              print the results as JSON
  --help              this text`;

function positiveInt(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new BenchUsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < 1 || value > max) throw new BenchUsageError(`--${name} must be between 1 and ${max}, got ${value}`);
  return value;
}

/** Parses argv (without node and the script); returns null when --help was asked for. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        scenario: { type: "string" },
        n: { type: "string" },
        concurrency: { type: "string" },
        chats: { type: "string" },
        encrypted: { type: "boolean" },
        timeout: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new BenchUsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return null;

  const scenario = v.scenario ?? "all";
  let scenarios: ScenarioName[];
  if (scenario === "all") scenarios = [...SCENARIOS];
  else if ((SCENARIOS as readonly string[]).includes(scenario)) scenarios = [scenario as ScenarioName];
  else throw new BenchUsageError(`--scenario must be one of ${[...SCENARIOS, "all"].join(", ")}, got ${JSON.stringify(scenario)}`);

  const n = positiveInt("n", v.n, 500, 1_000_000);
  const concurrency = positiveInt("concurrency", v.concurrency, 10, 10_000);
  const chats = positiveInt("chats", v.chats, 10, 1_000);
  const timeoutMs = positiveInt("timeout", v.timeout, 120, 86_400) * 1000;
  return { scenarios, n, concurrency, chats, encrypted: v.encrypted ?? false, timeoutMs, json: v.json ?? false };
}
