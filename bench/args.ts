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
  /** Set for `--scale`: the bridge-only scenario over many portals, once per size, database and encryption. */
  scale?: ScaleOptions;
}

export const DATABASES = ["sqlite", "postgres"] as const;
export type DatabaseName = (typeof DATABASES)[number];

export interface ScaleOptions {
  /** Portals opened, one run per size. */
  portals: number[];
  databases: DatabaseName[];
  /** Which runs are encrypted (Matrix E2EE): false, true or both. */
  encryption: boolean[];
  /** Portals opened at once. */
  openConcurrency: number;
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
  --help              this text

  --scale             how the bridge grows with its portals (bridge-only homeserver): for each size, database and
                      encryption, opens that many portals and reports the time it took, the bridge's RSS after
                      opening and at its peak, CPU per message and p99 latency each way over --chats of them, and
                      the bridge's start-up time with that many portals. Defaults under --scale: --n 2000, --chats 100
  --portals <list>    portal counts for --scale (default: 10,100,1000,10000)
  --databases <list>  sqlite, postgres or both (default: sqlite,postgres; postgres needs Debian's postgresql binaries)
  --encryption <list> off, on or both (default: off,on)
  --open-concurrency <k>  portals being opened at once under --scale (default: 16)`;

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
        scale: { type: "boolean" },
        portals: { type: "string" },
        databases: { type: "string" },
        encryption: { type: "string" },
        "open-concurrency": { type: "string" },
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

  const scaleOnly = (["portals", "databases", "encryption", "open-concurrency"] as const).filter((k) => v[k] !== undefined);
  if (!v.scale && scaleOnly.length > 0) throw new BenchUsageError(`--${scaleOnly[0]} goes with --scale`);
  if (v.scale && v.scenario !== undefined && v.scenario !== "bridge-only") throw new BenchUsageError("--scale runs the bridge-only scenario; leave out --scenario");
  if (v.scale && v.encrypted) throw new BenchUsageError("under --scale, pick encryption with --encryption on (or off,on)");

  const n = positiveInt("n", v.n, v.scale ? 2000 : 500, 1_000_000);
  const concurrency = positiveInt("concurrency", v.concurrency, 10, 10_000);
  const chats = positiveInt("chats", v.chats, v.scale ? 100 : 10, 1_000);
  const timeoutMs = positiveInt("timeout", v.timeout, 120, 86_400) * 1000;
  const options: BenchOptions = { scenarios, n, concurrency, chats, encrypted: v.encrypted ?? false, timeoutMs, json: v.json ?? false };
  if (!v.scale) return options;

  const portals = listOf("portals", v.portals ?? "10,100,1000,10000", (item) => positiveInt("portals", item, 0, 100_000));
  const databases = listOf("databases", v.databases ?? "sqlite,postgres", (item) => {
    if ((DATABASES as readonly string[]).includes(item)) return item as DatabaseName;
    throw new BenchUsageError(`--databases takes ${DATABASES.join(", ")}, got ${JSON.stringify(item)}`);
  });
  const encryption = listOf("encryption", v.encryption ?? "off,on", (item) => {
    if (item === "on" || item === "off") return item === "on";
    throw new BenchUsageError(`--encryption takes off and on, got ${JSON.stringify(item)}`);
  });
  const openConcurrency = positiveInt("open-concurrency", v["open-concurrency"], 16, 1_000);
  return { ...options, scenarios: ["bridge-only"], scale: { portals, databases, encryption, openConcurrency } };
}

/** A comma-separated list, each item checked by `item`; repeats are dropped, order kept. */
function listOf<T>(name: string, raw: string, item: (text: string) => T): T[] {
  const parts = raw.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw new BenchUsageError(`--${name} is a comma-separated list without empty items, got ${JSON.stringify(raw)}`);
  return [...new Set(parts.map(item))];
}
