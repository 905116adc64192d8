// IndexedDB keys as bytes whose plain byte order is IndexedDB's key order (number < date < string < binary < array,
// strings by UTF-16 code unit, arrays element by element, a prefix first). One canonical encoding per key, so the
// bytes serve as the primary key in the bridge database and as the in-memory sort key (Buffer.compare), and a
// database that can range-scan bytes (SQLite, PostgreSQL bytea) sees the same order.
//
// Layout: a type tag, then the body. Numbers and dates: 8 bytes of IEEE 754 big-endian, sign-flipped so that bytes
// order like values. Strings (as UTF-16BE) and binaries: every 0x00 byte escaped as 0x00 0xFF, ended by 0x00. Arrays:
// the elements, ended by 0x00 (below every tag, so a shorter array sorts first).
import { idbError } from "./errors.js";

export type IdbKey = number | string | Date | ArrayBuffer | ArrayBufferView | IdbKey[];

const TAG_NUMBER = 0x10;
const TAG_DATE = 0x20;
const TAG_STRING = 0x30;
const TAG_BINARY = 0x40;
const TAG_ARRAY = 0x50;
const END = 0x00;
const ESCAPE = 0xff;

class Writer {
  private buf = Buffer.allocUnsafe(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  float(n: number): void {
    this.room(8);
    this.buf.writeDoubleBE(n === 0 ? 0 : n, this.length); // -0 is the same key as 0
    if (this.buf[this.length]! & 0x80) for (let i = 0; i < 8; i++) this.buf[this.length + i] = ~this.buf[this.length + i]! & 0xff;
    else this.buf[this.length] = this.buf[this.length]! | 0x80;
    this.length += 8;
  }

  escapedByte(b: number): void {
    this.byte(b);
    if (b === 0) this.byte(ESCAPE);
  }

  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

/** Throws DataError unless `value` is a valid IndexedDB key. */
export function encodeKey(value: unknown): Buffer {
  const w = new Writer();
  write(w, value, []);
  return w.done();
}

/** Like encodeKey, but undefined instead of throwing (index keys that do not apply to a record). */
export function tryEncodeKey(value: unknown): Buffer | undefined {
  try {
    return encodeKey(value);
  } catch {
    return undefined;
  }
}

function write(w: Writer, value: unknown, seen: unknown[]): void {
  if (typeof value === "number") {
    if (Number.isNaN(value)) throw idbError("DataError", "NaN is not a valid IndexedDB key");
    w.byte(TAG_NUMBER);
    w.float(value);
  } else if (typeof value === "string") {
    w.byte(TAG_STRING);
    for (let i = 0; i < value.length; i++) {
      const unit = value.charCodeAt(i);
      w.escapedByte(unit >> 8);
      w.escapedByte(unit & 0xff);
    }
    w.byte(END);
  } else if (value instanceof Date) {
    const t = value.getTime();
    if (Number.isNaN(t)) throw idbError("DataError", "an invalid Date is not a valid IndexedDB key");
    w.byte(TAG_DATE);
    w.float(t);
  } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    w.byte(TAG_BINARY);
    for (const b of bytes) w.escapedByte(b);
    w.byte(END);
  } else if (Array.isArray(value)) {
    if (seen.includes(value)) throw idbError("DataError", "an array that contains itself is not a valid IndexedDB key");
    seen.push(value);
    w.byte(TAG_ARRAY);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw idbError("DataError", "an array with holes is not a valid IndexedDB key");
      write(w, value[i], seen);
    }
    w.byte(END);
    seen.pop();
  } else {
    throw idbError("DataError", `${describe(value)} is not a valid IndexedDB key`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  return `a value of type ${typeof value}`;
}

/** The key back from its bytes (binary keys come back as ArrayBuffer, as IndexedDB returns them). */
export function decodeKey(bytes: Uint8Array): IdbKey {
  const r = { pos: 0 };
  const key = read(bytes, r);
  if (r.pos !== bytes.length) throw new Error("corrupt IndexedDB key: trailing bytes");
  return key;
}

function read(b: Uint8Array, r: { pos: number }): IdbKey {
  const tag = b[r.pos++];
  switch (tag) {
    case TAG_NUMBER:
      return readFloat(b, r);
    case TAG_DATE:
      return new Date(readFloat(b, r));
    case TAG_STRING: {
      const bytes = readEscaped(b, r);
      if (bytes.length % 2 !== 0) throw new Error("corrupt IndexedDB key: odd string length");
      let s = "";
      for (let i = 0; i < bytes.length; i += 2) s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
      return s;
    }
    case TAG_BINARY: {
      const bytes = readEscaped(b, r);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    case TAG_ARRAY: {
      const out: IdbKey[] = [];
      while (b[r.pos] !== END) {
        if (r.pos >= b.length) throw new Error("corrupt IndexedDB key: unterminated array");
        out.push(read(b, r));
      }
      r.pos++;
      return out;
    }
    default:
      throw new Error(`corrupt IndexedDB key: unknown tag ${String(tag)}`);
  }
}

function readFloat(b: Uint8Array, r: { pos: number }): number {
  if (r.pos + 8 > b.length) throw new Error("corrupt IndexedDB key: short number");
  const raw = Buffer.from(b.subarray(r.pos, r.pos + 8));
  if (raw[0]! & 0x80) raw[0] = raw[0]! & 0x7f;
  else for (let i = 0; i < 8; i++) raw[i] = ~raw[i]! & 0xff;
  r.pos += 8;
  return raw.readDoubleBE(0);
}

function readEscaped(b: Uint8Array, r: { pos: number }): Uint8Array {
  const out: number[] = [];
  for (;;) {
    if (r.pos >= b.length) throw new Error("corrupt IndexedDB key: unterminated string or binary");
    const byte = b[r.pos++]!;
    if (byte !== 0) {
      out.push(byte);
      continue;
    }
    if (b[r.pos] === ESCAPE) {
      out.push(0);
      r.pos++;
      continue;
    }
    return Uint8Array.from(out);
  }
}

/** The key at `keyPath` in `value`; undefined when a step is missing (such a record is not in the index). */
export function valueAtKeyPath(value: unknown, keyPath: string | string[]): unknown {
  if (Array.isArray(keyPath)) {
    const parts: unknown[] = [];
    for (const p of keyPath) {
      const part = valueAtKeyPath(value, p);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return parts;
  }
  if (keyPath === "") return value;
  let cur: unknown = value;
  for (const step of keyPath.split(".")) {
    if (cur === null || (typeof cur !== "object" && typeof cur !== "string")) return undefined;
    if (typeof cur === "string") {
      if (step !== "length") return undefined;
      cur = cur.length;
      continue;
    }
    if (cur instanceof Map) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, step) && !(Array.isArray(cur) && step === "length")) return undefined;
    cur = (cur as Record<string, unknown>)[step];
  }
  return cur;
}
