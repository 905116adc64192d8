// Plaintext padding before Signal encryption, as WhatsApp does it: n copies of the byte n, n in 1..15. It hides the
// exact length of short messages a little; the Signal ciphertext then rounds up to whole AES blocks.
import { randomInt } from "node:crypto";
import { ProtocolError } from "./errors.js";

export const MIN_PADDING = 1;
export const MAX_PADDING = 15;

export function randomPaddingLength(): number {
  return randomInt(MIN_PADDING, MAX_PADDING + 1);
}

/** Returns a new array: `bytes` followed by n copies of n (random n unless given). */
export function pad(bytes: Uint8Array, n: number = randomPaddingLength()): Uint8Array {
  if (!Number.isInteger(n) || n < MIN_PADDING || n > MAX_PADDING) {
    throw new ProtocolError("invalid_field", `padding: length must be an integer in ${MIN_PADDING}..${MAX_PADDING}, got ${n}`, {
      field: "padding",
    });
  }
  const out = new Uint8Array(bytes.length + n);
  out.set(bytes, 0);
  out.fill(n, bytes.length);
  return out;
}

/** Returns a view of `bytes` without its padding; throws ProtocolError unless the padding is well-formed. */
export function unpad(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError("malformed", "padding: input is not a byte array", { field: "padding" });
  }
  if (bytes.length === 0) {
    throw new ProtocolError("truncated", "padding: input is empty", { field: "padding" });
  }
  const n = bytes[bytes.length - 1]!;
  if (n < MIN_PADDING || n > MAX_PADDING) {
    throw new ProtocolError("malformed", `padding: last byte must be in ${MIN_PADDING}..${MAX_PADDING}, got ${n}`, {
      field: "padding",
    });
  }
  if (bytes.length < n) {
    throw new ProtocolError("truncated", `padding: claims ${n} bytes but the input has ${bytes.length}`, {
      field: "padding",
    });
  }
  for (let i = bytes.length - n; i < bytes.length; i++) {
    if (bytes[i] !== n) {
      throw new ProtocolError("malformed", `padding: expected ${n} bytes of value ${n} at the end`, { field: "padding" });
    }
  }
  return bytes.subarray(0, bytes.length - n);
}
