// Coverage feedback without a native fuzzer: V8's own block coverage, read through the inspector of the thread the
// target runs in. After each input the counters are taken (which resets them), bucketed like AFL's hit counts, and
// the input joins the corpus when it reached a block, or a block a number of times, that no input did before.
// Taking coverage costs about a millisecond, so it guides a first phase of the run and plain mutation of the
// evolved corpus does the rest at full speed.
import { Session } from "node:inspector";

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: Array<{ ranges: Range[] }>;
}

function bucket(count: number): number {
  if (count <= 3) return count;
  return 32 - Math.clz32(count); // 4-7 -> 3+..., one bucket per power of two
}

export class CoverageFeedback {
  private readonly session = new Session();
  private readonly seen = new Set<string>();
  private readonly relevant = new Map<string, boolean>();

  /** `include` decides which scripts count (the code under test and its parsers, not the fuzzer itself). */
  constructor(private readonly include: (url: string) => boolean) {
    this.session.connect();
    this.post("Profiler.enable");
    this.post("Profiler.startPreciseCoverage", { callCount: true, detailed: true });
  }

  private post(method: string, params?: object): unknown {
    let out: unknown;
    let failure: Error | null = null;
    // A same-thread inspector session answers synchronously.
    this.session.post(method, params, (err, result) => {
      failure = err;
      out = result;
    });
    if (failure) throw failure;
    return out;
  }

  /** Blocks seen so far (bucketed). */
  get size(): number {
    return this.seen.size;
  }

  /** Takes (and resets) the counters; returns how many new block/bucket pairs the last input reached. */
  collect(): number {
    const { result } = this.post("Profiler.takePreciseCoverage") as { result: ScriptCoverage[] };
    let fresh = 0;
    for (const script of result) {
      let wanted = this.relevant.get(script.scriptId);
      if (wanted === undefined) this.relevant.set(script.scriptId, (wanted = this.include(script.url)));
      if (!wanted) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.scriptId}:${r.startOffset}:${r.endOffset}:${bucket(r.count)}`;
          if (!this.seen.has(key)) {
            this.seen.add(key);
            fresh++;
          }
        }
      }
    }
    return fresh;
  }

  stop(): void {
    this.post("Profiler.stopPreciseCoverage");
    this.session.disconnect();
  }
}

/** The bridge's compiled sources and the libraries its decoders parse with; not the fuzzer, tests or Node itself. */
export function isCodeUnderTest(url: string): boolean {
  if (!url.startsWith("file://")) return false;
  if (url.includes("/dist/bench/") || url.includes("/dist/test/")) return false;
  return url.includes("/dist/src/") || /\/node_modules\/(@bufbuild|zod|yaml|libphonenumber-js)\//.test(url);
}
