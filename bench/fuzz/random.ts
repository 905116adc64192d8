// The fuzzer's one source of randomness: a seeded PRNG with the small helpers every mutator needs, so a failing
// input replays from (target, seed, iteration).
import { prng } from "../../test/support/prng.js";

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(xs: readonly T[]): T;
  bytes(n: number): Uint8Array;
}

export function random(seed: number): Random {
  const next = prng(seed);
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (xs) => xs[int(xs.length)]!,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}

/** A small length, mostly tiny, sometimes around the boundaries decoders check (255, 256, 4 KiB, 64 KiB). */
export function length(r: Random): number {
  if (r.chance(0.85)) return r.int(40);
  return r.pick([0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 257, 1023, 1024, 4095, 4096, 65535, 65536]);
}

/** Stable 32-bit hash of a target name, mixed into the seed so targets do not share one sequence. */
export function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}
