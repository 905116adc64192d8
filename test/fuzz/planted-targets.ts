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
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // busy for 300 ms
    }
  }),
};
