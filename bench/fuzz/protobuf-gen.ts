// Random messages generated from a protobuf schema (through protobuf-es reflection): each field set or not, oneofs
// choosing a member, values drawn from what the validators check (valid and invalid URIs, 16-byte and odd-length
// ids, enum values in and out of range, boundary integers). Encoded, these are well-formed wire data that reach
// every field's validation, the part of a decoder byte-level mutation rarely gets to.
import { create, ScalarType, toBinary, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import type { Random } from "./random.js";

const STRINGS = [
  "",
  "tel:+491511234567",
  "tel:+15550100",
  "tel:+4915112345678901234",
  "tel:491511234567",
  "matrix:u/alice:example.org",
  "matrix:u/Alice:example.org",
  "matrix:u/:example.org",
  "matrix:r/room:example.org",
  "mailto:a@b",
  "hello",
  "😀",
  "\u0000",
  "\ud800",
  "/v1/media/abc_DEF-123",
  "https://gk.example/v1/media/x",
  "image/jpeg",
  "application/octet-stream",
  "../../etc/passwd",
  "x".repeat(4097),
];
const INTS = [0, 1, 2, 3, -1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31)];
const UINTS = [0, 1, 2, 3, 16, 32, 127, 128, 255, 256, 1000, 65535, 65536, 2 ** 31, 2 ** 32 - 1];
const BIG = [0n, 1n, 2n ** 31n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 1_700_000_000_000n];
const BYTE_LENGTHS = [0, 1, 15, 16, 17, 31, 32, 33, 64, 100];

function scalar(r: Random, type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return r.chance(0.9) ? r.pick(STRINGS) : String.fromCharCode(...Array.from({ length: r.int(20) }, () => r.int(0x10000)));
    case ScalarType.BYTES:
      return r.bytes(r.pick(BYTE_LENGTHS));
    case ScalarType.BOOL:
      return r.chance(0.5);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return r.pick(INTS);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return r.pick(UINTS);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return r.chance(0.2) ? -r.pick(BIG) : r.pick(BIG);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return r.chance(0.1) ? 2n ** 64n - 1n : r.pick(BIG);
    default:
      return r.pick([0, 1.5, -0, Number.NaN, Infinity, 1e300]);
  }
}

function enumValue(r: Random, field: DescField & { fieldKind: "enum" }): number {
  const values = field.enum.values.map((v) => v.number);
  return r.chance(0.9) ? r.pick(values) : r.pick([-1, 99, 2 ** 31 - 1]);
}

function fill(r: Random, m: ReflectMessage, depth: number): void {
  const chosenOneofs = new Map(m.oneofs.map((o) => [o, r.pick(o.fields)]));
  for (const field of m.fields) {
    if (field.oneof && chosenOneofs.get(field.oneof) !== field) continue;
    if (!field.oneof && !r.chance(0.7)) continue;
    try {
      set(r, m, field, depth);
    } catch {
      // A value the reflection API refuses (it checks ranges) is simply left unset.
    }
  }
}

function set(r: Random, m: ReflectMessage, field: DescField, depth: number): void {
  switch (field.fieldKind) {
    case "scalar":
      m.set(field, scalar(r, field.scalar));
      return;
    case "enum":
      m.set(field, enumValue(r, field));
      return;
    case "message": {
      if (depth > 5) return;
      const child = m.get(field) as ReflectMessage;
      fill(r, child, depth + 1);
      m.set(field, child);
      return;
    }
    case "list": {
      const list = m.get(field);
      const n = r.chance(0.9) ? r.int(4) : r.int(200);
      for (let i = 0; i < n; i++) {
        if (field.listKind === "scalar") list.add(scalar(r, field.scalar));
        else if (field.listKind === "enum") list.add(r.pick(field.enum.values).number);
        else if (depth <= 5) {
          const child = reflect(field.message);
          fill(r, child, depth + 1);
          list.add(child);
        }
      }
      return;
    }
    case "map": {
      const map = m.get(field);
      for (let i = r.int(3); i > 0; i--) {
        const key = scalar(r, field.mapKey);
        if (field.mapKind === "scalar") map.set(key, scalar(r, field.scalar));
        else if (field.mapKind === "enum") map.set(key, r.pick(field.enum.values).number);
      }
      return;
    }
  }
}

/** The wire bytes of a random message of `schema`. */
export function generateProtobuf(r: Random, schema: DescMessage): Uint8Array {
  const m = reflect(schema, create(schema));
  fill(r, m, 0);
  try {
    return toBinary(schema, m.message);
  } catch {
    return new Uint8Array(0);
  }
}
