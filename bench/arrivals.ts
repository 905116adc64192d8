// Which benchmark messages arrived where they were sent to, when, and how often. A benchmark that silently lost or
// duplicated messages would report numbers for work that did not happen, so every message is accounted for.
import { BenchFailure } from "./failure.js";

interface Expectation {
  arrivals: number;
  resolve: (arrivedAt: number) => void;
  arrived: Promise<number>;
}

export interface ArrivalCheck {
  expected: number;
  missing: string[];
  duplicated: string[];
  unexpected: string[];
}

export class ArrivalTracker {
  private readonly expectations = new Map<string, Expectation>();
  private readonly unexpected: string[] = [];

  /** `prefix` marks this run's messages; arrivals without it (warm-up, other runs) are not this tracker's. */
  constructor(readonly prefix: string) {}

  /** The text of message `i` of this run. */
  key(i: number): string {
    return `${this.prefix} #${i}`;
  }

  /** Registers a message before it is sent; resolves with the time it arrived (ms since the epoch). */
  expect(key: string): Promise<number> {
    if (!key.startsWith(this.prefix)) throw new Error(`key ${JSON.stringify(key)} lacks the run prefix ${JSON.stringify(this.prefix)}`);
    if (this.expectations.has(key)) throw new Error(`message ${JSON.stringify(key)} is expected twice`);
    let resolve!: (at: number) => void;
    const arrived = new Promise<number>((r) => (resolve = r));
    this.expectations.set(key, { arrivals: 0, resolve, arrived });
    return arrived;
  }

  /** An observer saw `text` arrive at `at`. Every arrival counts, so a redelivery shows up as a duplicate. */
  arrived(text: string, at: number): void {
    if (!text.startsWith(this.prefix)) return;
    const e = this.expectations.get(text);
    if (!e) {
      this.unexpected.push(text);
      return;
    }
    e.arrivals++;
    if (e.arrivals === 1) e.resolve(at);
  }

  check(): ArrivalCheck {
    const missing: string[] = [];
    const duplicated: string[] = [];
    for (const [key, e] of this.expectations) {
      if (e.arrivals === 0) missing.push(key);
      else if (e.arrivals > 1) duplicated.push(key);
    }
    return { expected: this.expectations.size, missing, duplicated, unexpected: [...this.unexpected] };
  }

  /** Throws unless every expected message arrived exactly once and nothing else with the prefix did. */
  assertExactlyOnce(what: string): void {
    const c = this.check();
    if (c.missing.length === 0 && c.duplicated.length === 0 && c.unexpected.length === 0) return;
    const sample = (list: string[]) => (list.length ? ` (e.g. ${list.slice(0, 3).map((k) => JSON.stringify(k)).join(", ")})` : "");
    throw new BenchFailure(
      `${what}: of ${c.expected} messages, ${c.missing.length} never arrived${sample(c.missing)}, ` +
        `${c.duplicated.length} arrived more than once${sample(c.duplicated)}, ` +
        `and ${c.unexpected.length} arrived that were never sent${sample(c.unexpected)}`,
    );
  }
}
