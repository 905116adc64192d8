// The one place where protobuf-es meets untrusted bytes: size check first, then parse, and every failure of the
// parser becomes a ProtocolError. Unknown fields are kept (protobuf-es default) and re-emitted on encode, so a peer
// speaking a later minor revision does not lose data when we pass its messages through.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { ProtocolError } from "./errors.js";

/** Nested messages deeper than this are rejected by the parser before they can exhaust the stack. */
const RECURSION_LIMIT = 32;

export function decodeProto<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  maxBytes: number,
  what: string,
): MessageShape<Desc> {
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError("malformed", `${what}: input is not a byte array`);
  }
  if (bytes.length > maxBytes) {
    throw new ProtocolError("oversized", `${what}: ${bytes.length} bytes exceed the limit of ${maxBytes}`);
  }
  try {
    return fromBinary(schema, bytes, { recursionLimit: RECURSION_LIMIT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // protobuf-es reports reads past the end as RangeError("premature EOF"); everything else is bad wire data.
    const code = /premature EOF/i.test(message) ? "truncated" : "malformed";
    throw new ProtocolError(code, `${what}: ${code === "truncated" ? "input ends early" : "not valid protobuf"} (${message})`, {
      cause: err,
    });
  }
}

export function encodeProto<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, maxBytes: number, what: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = toBinary(schema, message);
  } catch (err) {
    // protobuf-es refuses values outside a field's range (e.g. a uint32 above 2^32-1) only at this point.
    const detail = err instanceof Error ? err.message : String(err);
    throw new ProtocolError("invalid_field", `${what}: cannot encode (${detail})`, { cause: err });
  }
  if (bytes.length > maxBytes) {
    throw new ProtocolError("oversized", `${what}: ${bytes.length} bytes exceed the limit of ${maxBytes}`);
  }
  return bytes;
}
