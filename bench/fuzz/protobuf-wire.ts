// Structured mutation of protobuf wire data without its schema: the input is read as a tree of fields (a
// length-delimited field that parses as fields becomes a subtree), one field somewhere is changed, and the tree is
// written back with consistent lengths. So the mutated input still parses as far as the change, and the change
// lands in the decoder's validation (a repeated oneof member, an out-of-range enum, a 33-byte id, a huge varint)
// instead of stopping at the first length byte, as most byte-level edits do.
import { concat } from "./bytes.js";
import { length, type Random } from "./random.js";

type Field =
  | { no: number; wire: 0; value: bigint }
  | { no: number; wire: 1 | 5; raw: Uint8Array }
  | { no: number; wire: 2; raw: Uint8Array; children?: Field[] };

const MAX_DEPTH = 8;
/**
 * What a structural edit may build (the shared buffer that reports the current input holds as much). Copies of a
 * field are made only as far as they fit, and a larger input is left to byte-level havoc: without it, repeating a
 * field (300 copies now and then) in inputs that the corpus keeps and mutates again grew a frame by hundreds of
 * times per generation, until a single mutation spent seconds.
 */
export const MAX_PROTOBUF = 1 << 20;

function readVarint(b: Uint8Array, at: number): [bigint, number] | undefined {
  let value = 0n;
  for (let shift = 0n, i = at; i < b.length && shift < 70n; i++, shift += 7n) {
    value |= BigInt(b[i]! & 0x7f) << shift;
    if ((b[i]! & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}

function writeVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** The fields of `b`, or undefined when it is not a complete protobuf message. */
export function parseFields(b: Uint8Array, depth = 0): Field[] | undefined {
  const fields: Field[] = [];
  let at = 0;
  while (at < b.length) {
    const key = readVarint(b, at);
    if (!key) return undefined;
    const [tag, afterKey] = key;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (no === 0) return undefined;
    at = afterKey;
    if (wire === 0) {
      const v = readVarint(b, at);
      if (!v) return undefined;
      fields.push({ no, wire: 0, value: v[0] });
      at = v[1];
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (at + n > b.length) return undefined;
      fields.push({ no, wire, raw: b.subarray(at, at + n) });
      at += n;
    } else if (wire === 2) {
      const len = readVarint(b, at);
      if (!len || len[1] + Number(len[0]) > b.length) return undefined;
      const raw = b.subarray(len[1], len[1] + Number(len[0]));
      const children = depth < MAX_DEPTH && raw.length > 0 ? parseFields(raw, depth + 1) : undefined;
      fields.push(children ? { no, wire: 2, raw, children } : { no, wire: 2, raw });
      at = len[1] + Number(len[0]);
    } else {
      return undefined;
    }
  }
  return fields;
}

export function writeFields(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(writeVarint((BigInt(f.no) << 3n) | BigInt(f.wire)));
    if (f.wire === 0) parts.push(writeVarint(f.value));
    else if (f.wire === 2) {
      const payload = f.children ? writeFields(f.children) : f.raw;
      parts.push(writeVarint(BigInt(payload.length)), payload);
    } else parts.push(f.raw);
  }
  return concat(...parts);
}

function encodedSize(f: Field): number {
  return writeFields([f]).length;
}

const VARINTS = [0n, 1n, 2n, 3n, 4n, 5n, 127n, 128n, 255n, 256n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
const STRINGS = ["", "tel:+491511234567", "matrix:u/alice:example.org", "tel:+0", "x".repeat(300), "\u0000", "é", "😀", "tel:", "matrix:u/", "+49", "/v1/media/abc"];

/** A deep copy, so a field inserted twice (or into a copy of its own ancestor) never makes the tree a cycle. */
function clone(f: Field): Field {
  return f.wire === 2 && f.children ? { ...f, children: f.children.map(clone) } : { ...f };
}

/** Every field in the tree with the list that holds it, so a mutation can replace, drop or copy it in place. */
function slots(fields: Field[], out: Array<{ list: Field[]; index: number }> = []): Array<{ list: Field[]; index: number }> {
  fields.forEach((f, index) => {
    out.push({ list: fields, index });
    if (f.wire === 2 && f.children) slots(f.children, out);
  });
  return out;
}

function invalidUtf8(r: Random): Uint8Array {
  return r.pick([Uint8Array.of(0xc3, 0x28), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xff), Uint8Array.of(0xe2, 0x82)]);
}

function mutateField(r: Random, f: Field, donors: readonly Field[]): Field | undefined {
  switch (r.int(8)) {
    case 0:
      return undefined; // drop it
    case 1:
      return { ...f, no: r.chance(0.7) ? Math.max(1, f.no + r.int(5) - 2) : 1 + r.int(r.chance(0.9) ? 40 : 536870911) } as Field;
    case 2:
      if (f.wire === 0) return { no: f.no, wire: 0, value: r.pick(VARINTS) + BigInt(r.int(3)) - 1n };
      return { no: f.no, wire: 0, value: r.pick(VARINTS) }; // wrong wire type for the field
    case 3:
      return { no: f.no, wire: 2, raw: new TextEncoder().encode(r.pick(STRINGS)) };
    case 4:
      return { no: f.no, wire: 2, raw: r.chance(0.5) ? r.bytes(length(r)) : invalidUtf8(r) };
    case 5:
      if (f.wire === 2) return { no: f.no, wire: 2, raw: f.raw.subarray(0, r.int(f.raw.length + 1)) };
      return { no: f.no, wire: r.chance(0.5) ? 1 : 5, raw: r.bytes(r.chance(0.5) ? 8 : 4) } as Field;
    case 6:
      return donors.length > 0 ? { ...clone(r.pick(donors)), no: f.no } : f;
    default:
      return { no: f.no, wire: 2, raw: new Uint8Array(0) };
  }
}

/** A structural edit of `input` (which must parse as fields); undefined when it does not parse. */
export function mutateProtobuf(r: Random, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array | undefined {
  if (input.length > MAX_PROTOBUF) return undefined;
  const fields = parseFields(input);
  if (!fields) return undefined;
  // Bytes the edits may still add; the encoded size of a copy is what it costs (a few length bytes more are within
  // the margin the final check allows for).
  let budget = MAX_PROTOBUF - input.length;
  const donorSource = corpus.length > 0 ? parseFields(r.pick(corpus)) : undefined;
  const donors = donorSource ? slots(donorSource).map((s) => s.list[s.index]!) : [];
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    const all = slots(fields);
    if (all.length === 0) {
      const added = donors.length > 0 ? clone(r.pick(donors)) : { no: 1 + r.int(16), wire: 0 as const, value: r.pick(VARINTS) };
      budget -= encodedSize(added);
      if (budget < 0) return undefined;
      fields.push(added);
      continue;
    }
    const { list, index } = r.pick(all);
    const f = list[index]!;
    switch (r.int(4)) {
      case 0: {
        // repeat the field: a second oneof member, a repeated scalar, a merged sub-message
        const size = encodedSize(f);
        const copies = Math.min(1 + (r.chance(0.1) ? r.int(300) : r.int(3)), Math.floor(budget / size));
        budget -= copies * size;
        list.splice(index, 0, ...Array.from({ length: copies }, () => clone(f)));
        break;
      }
      case 1: {
        // insert a field taken from another seed, or a fresh one
        const added: Field = donors.length > 0 && r.chance(0.7) ? clone(r.pick(donors)) : { no: 1 + r.int(20), wire: 0, value: r.pick(VARINTS) };
        const size = encodedSize(added);
        if (size > budget) break;
        budget -= size;
        list.splice(index + r.int(2), 0, added);
        break;
      }
      case 2: // swap with another field of the same list: order-dependent merging
        if (list.length > 1) {
          const j = r.int(list.length);
          [list[index], list[j]] = [list[j]!, f];
        }
        break;
      default: {
        const replaced = mutateField(r, f, donors);
        if (!replaced) list.splice(index, 1);
        else {
          const grows = encodedSize(replaced) - encodedSize(f);
          if (grows > budget) break;
          budget -= Math.max(0, grows);
          list[index] = replaced;
        }
      }
    }
  }
  const out = writeFields(fields);
  // Each copy nested deeper also lengthens its ancestors' length prefixes: a few bytes past the budget at most.
  return out.length <= MAX_PROTOBUF ? out : undefined;
}
