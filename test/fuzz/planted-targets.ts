// Targets with bugs planted where the fuzzer's mutations reach them within a few hundred inputs: the proof that
// `npm run fuzz` reports a crash, a hang and a slow input (with the input) instead of passing quietly.
import { havoc } from "../../bench/fuzz/bytes.js";
import type { Target } from "../../bench/fuzz/targets.js";

class TypedError extends Error {}

/** Fails for any input with a byte >= 0xf0; the seed has none, so only mutation gets there. */
function planted(name: string, bug: (input: Uint8Array) => void): () => Target {
  return () => ({
    name,
    decodes: `a planted ${name}`,
    seeds: () => [Uint8Array.of(1, 2, 3, 4)],
    mutate: (r, input, corpus) => havoc(r, input as Uint8Array, corpus as Uint8Array[]),
    run: (input) => {
      const bytes = input as Uint8Array;
      if (bytes.length === 0) throw new TypedError("empty");
      if (bytes.some((b) => b >= 0xf0)) bug(bytes);
    },
    expected: (err) => (err instanceof TypedError ? "TypedError" : undefined),
  });
}

export const TARGETS: Record<string, () => Target> = {
  "planted-crash": planted("crash", (b) => {
    const missing = undefined as unknown as { length: number };
    if (b.length > 0) void missing.length;
  }),
  "planted-hang": planted("hang", () => {
    for (;;) {
      // an endless loop, as a decoder with a bad length calculation would run
    }
  }),
  "planted-slow": planted("slow", () => {
    // 300 ms of CPU, not of the clock: the engine measures CPU time, and on a loaded machine 300 ms of wall time
    // can be less than its 200 ms limit (the test then never saw a slow input and timed out).
    const start = process.cpuUsage();
    for (;;) {
      const used = process.cpuUsage(start);
      if (used.user + used.system >= 300_000) break;
    }
  }),
};
