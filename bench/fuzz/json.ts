// Structured mutation of JSON documents (appservice transactions, Matrix event content): parse the seed, change one
// node of the tree (replace it with a value of another type, drop or add a key, repeat an array item, nest it deep),
// write it back. Text-level edits on top, now and then, cover what a homeserver might send that is not valid JSON
// once parsed back (the target then reports "not JSON", which the HTTP layer refuses before the parser sees it).
import { length, type Random } from "./random.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keys and strings that mean something to the parsers under test; mixed into every mutation. */
export interface JsonDictionary {
  keys: readonly string[];
  strings: readonly string[];
  /** No edits that grow the document a thousandfold (long arrays, deep nesting): for slow writers such as YAML's. */
  small?: boolean;
}

/** Larger than any body the appservice server accepts (its limit is far lower): bigger inputs only slow the run. */
export const MAX_TEXT = 4 * 1024 * 1024;

const COMMON_STRINGS = ["", "x", "\u0000", "\ud800", "😀", "__proto__", "constructor", "x".repeat(70_000), "1", "null", "true"];
const NUMBERS = [0, -1, 1, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 4294967296];

/**
 * How much a mutation may build, in bytes of JSON text (roughly). Without a bound, arrays of random length nested three
 * deep, or thousands of copies of a large node, made documents of gigabytes now and then: the mutator then spent
 * seconds building and writing them (only to throw them away as too large), which the long run's watchdog reported.
 */
export class TooLarge extends Error {}

interface Budget {
  left: number;
}

function spend(b: Budget, bytes: number): void {
  b.left -= bytes;
  if (b.left < 0) throw new TooLarge("the mutation grew the document past the size limit");
}

/** Whether the value's JSON text is longer than `limit` (roughly; stops counting as soon as it is). */
export function largerThan(value: Json, limit: number): boolean {
  return sizeUpTo(value, limit) > limit;
}

/** The rough length of the value's JSON text, counted up to just past `limit`. */
function sizeUpTo(value: Json, limit: number): number {
  let size = 0;
  const stack: Json[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v === "string") size += v.length + 2;
    else if (v === null || typeof v !== "object") size += 5;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const x of v) stack.push(x);
    } else {
      for (const [k, x] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(x);
      }
    }
    if (size > limit) return size;
  }
  return size;
}

function sizeLimit(d: JsonDictionary): number {
  return d.small ? 256 * 1024 : MAX_TEXT;
}

function randomValue(r: Random, d: JsonDictionary, depth: number, budget: Budget = { left: sizeLimit(d) }): Json {
  spend(budget, 5);
  switch (r.int(depth > 3 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(NUMBERS);
    case 3:
    case 4: {
      const s = r.chance(0.7) ? r.pick(d.strings) : r.pick(d.small ? COMMON_STRINGS.filter((x) => x.length < 100) : COMMON_STRINGS);
      spend(budget, s.length);
      return s;
    }
    case 5:
      return Array.from({ length: r.chance(0.95) ? r.int(4) : length(r) }, () => randomValue(r, d, depth + 1, budget));
    default:
      return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(d.keys), randomValue(r, d, depth + 1, budget)]));
  }
}

/** Every node with a setter that replaces it (the root has none and is replaced by returning a new value). */
function nodes(value: Json, out: Array<{ value: Json; set: (v: Json | undefined) => void }>, depth = 0): typeof out {
  if (depth > 40) return out;
  if (Array.isArray(value)) {
    value.forEach((child, i) => {
      out.push({ value: child, set: (v) => (v === undefined ? value.splice(i, 1) : (value[i] = v)) });
      nodes(child, out, depth + 1);
    });
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) {
      const child = value[key]!;
      out.push({ value: child, set: (v) => (v === undefined ? delete value[key] : (value[key] = v)) });
      nodes(child, out, depth + 1);
    }
  }
  return out;
}

function nest(value: Json, levels: number, asObject: boolean): Json {
  let out = value;
  for (let i = 0; i < levels; i++) out = asObject ? { a: out } : [out];
  return out;
}

/**
 * Mutates a parsed JSON value in place where it can; returns the (possibly new) root. Throws TooLarge (the value is
 * then half edited) instead of building a document far past the size limit.
 */
export function mutateJson(r: Random, root: Json, d: JsonDictionary, donors: readonly Json[]): Json {
  const edits = 1 + r.int(3);
  const limit = sizeLimit(d);
  for (let e = 0; e < edits; e++) {
    if (e > 0 && largerThan(root, limit)) throw new TooLarge("the mutation grew the document past the size limit");
    const all = nodes(root, []);
    if (all.length === 0 || r.chance(0.03)) {
      root = r.chance(0.5) ? randomValue(r, d, 0) : root;
      continue;
    }
    const target = r.pick(all);
    switch (r.int(8)) {
      case 0:
        target.set(undefined);
        break;
      case 1:
        target.set(randomValue(r, d, 1));
        break;
      case 2:
        if (typeof target.value === "string") target.set(r.chance(0.5) && target.value.length < (d.small ? 100 : 10_000) ? target.value.repeat(1 + r.int(50)) : target.value.slice(0, r.int(target.value.length + 1)));
        else target.set(r.pick(d.strings));
        break;
      case 3:
        if (target.value !== null && typeof target.value === "object" && !Array.isArray(target.value)) target.value[r.pick(d.keys)] = randomValue(r, d, 2);
        else if (Array.isArray(target.value) && target.value.length < 5000) {
          const items = target.value;
          const wanted = 1 + r.int(r.chance(0.05) && !d.small ? 2000 : 3);
          const first = items[0];
          // Copies of the first item, as many as fit in the size limit (a large first item: one).
          if (first !== undefined) {
            const n = Math.max(1, Math.min(wanted, Math.floor(limit / Math.max(1, sizeUpTo(first, limit)))));
            for (let i = 0; i < n; i++) items.push(structuredClone(first));
          } else items.push(...Array.from({ length: wanted }, () => randomValue(r, d, 2)));
        }
        else target.set({ [r.pick(d.keys)]: target.value });
        break;
      case 4:
        target.set(nest(target.value, r.chance(0.8) || d.small ? 1 + r.int(10) : 50 + r.int(200), r.chance(0.5)));
        break;
      case 5:
        if (donors.length > 0) {
          const donorNodes = nodes(r.pick(donors), []);
          if (donorNodes.length > 0) target.set(structuredClone(r.pick(donorNodes).value));
        }
        break;
      case 6:
        if (typeof target.value === "number") target.set(r.chance(0.5) ? -target.value : target.value + r.pick([1, -1, 0.5, 2 ** 32]));
        else target.set(r.pick(NUMBERS));
        break;
      default:
        target.set(Array.isArray(target.value) ? {} : r.chance(0.5) ? [] : String(JSON.stringify(target.value)).slice(0, 200));
    }
  }
  return root;
}

/** JSON text of a mutated seed; sometimes with a text-level edit that may make it invalid or very deep. */
export function mutateJsonText(r: Random, text: string, d: JsonDictionary, donorTexts: readonly string[]): string {
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch {
    return textEdit(r, text);
  }
  const donors = donorTexts.length > 0 ? [JSON.parse(r.pick(donorTexts)) as Json] : [];
  let out: string;
  try {
    const mutated = mutateJson(r, root, d, donors);
    if (largerThan(mutated, MAX_TEXT)) return textEdit(r, text);
    out = JSON.stringify(mutated);
  } catch {
    // Grown past the size limit, or nested past what JSON.stringify can write (repeated nest edits): keep the seed
    // and edit its text instead.
    return textEdit(r, text);
  }
  // Edits compound over generations of the corpus; past the bodies a homeserver sends, keep the seed's size.
  if (out.length > MAX_TEXT) return textEdit(r, text);
  if (r.chance(0.03)) return deepText(r, out);
  return r.chance(0.05) ? textEdit(r, out) : out;
}

/** Nesting far past what JSON.stringify could write, placed where a value goes. */
function deepText(r: Random, text: string): string {
  const levels = r.pick([100, 1000, 10_000, 100_000]);
  const inner = r.chance(0.5) ? "[".repeat(levels) + "]".repeat(levels) : '{"a":'.repeat(levels) + "0" + "}".repeat(levels);
  const at = text.lastIndexOf("}");
  return at > 0 ? `${text.slice(0, at)},"deep":${inner}${text.slice(at)}` : inner;
}

function textEdit(r: Random, text: string): string {
  const at = r.int(text.length + 1);
  switch (r.int(4)) {
    case 0:
      return text.slice(0, at);
    case 1:
      return text.slice(0, at) + r.pick(['"', "\\", "{", "}", "[", "]", ",", ":", "\\u0000", "\\ud800", "1e999", "-", "\u2028"]) + text.slice(at);
    case 2:
      return text.slice(0, at) + text.slice(at + 1 + r.int(10));
    default:
      return text.slice(0, at) + text.slice(r.int(text.length + 1));
  }
}
