// Byte-level havoc over seeds (AFL's classic moves): the fallback for every binary target, and the step that breaks
// what the structured mutators keep consistent (lengths, tags, varints).
import { length, type Random } from "./random.js";

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x10, 0x1a, 0x22, 0x2a, 0xc0, 0xfe];

function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One to a few byte-level edits of `input`; `corpus` supplies material to splice in. */
export function havoc(r: Random, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(input);
  const steps = 1 + r.int(r.chance(0.8) ? 3 : 12);
  for (let s = 0; s < steps; s++) {
    const at = r.int(bytes.length + 1);
    switch (r.int(9)) {
      case 0:
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << r.int(8);
        break;
      case 1:
        if (bytes.length > 0) bytes[at % bytes.length] = r.pick(INTERESTING);
        break;
      case 2:
        bytes = bytes.subarray(0, at);
        break;
      case 3:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + 1 + r.int(16)));
        break;
      case 4:
        bytes = concat(bytes.subarray(0, at), r.bytes(1 + r.int(8)), bytes.subarray(at));
        break;
      case 5: {
        const other = corpus.length > 0 ? r.pick(corpus) : bytes;
        const from = r.int(other.length + 1);
        bytes = concat(bytes.subarray(0, at), other.subarray(from, from + length(r)), bytes.subarray(r.chance(0.5) ? at : bytes.length));
        break;
      }
      case 6:
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at, at + r.int(32)), bytes.subarray(at));
        break;
      case 7:
        // Add or subtract a small number: walks varint and length bytes across their boundaries.
        if (bytes.length > 0) bytes[at % bytes.length] = (bytes[at % bytes.length]! + r.int(70) - 35) & 0xff;
        break;
      default:
        if (r.chance(0.1)) bytes = concat(bytes, r.bytes(length(r)));
        else bytes = concat(bytes.subarray(0, at), new Uint8Array(r.int(8)).fill(r.pick(INTERESTING)), bytes.subarray(at));
    }
  }
  return bytes;
}

export { concat };
