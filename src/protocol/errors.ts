// Typed errors for everything that parses or builds interop protocol data. Decoders throw nothing else, so a
// caller can tell "the peer sent garbage" (answer INVALID, keep the connection) from a bug in our own code.

export type ProtocolErrorCode =
  /** The input ends in the middle of a field or value. */
  | "truncated"
  /** The input is not what it claims to be: bad wire format, bad padding, no frame kind, invalid UTF-8. */
  | "malformed"
  /** The input exceeds a size limit of the protocol (checked before parsing). */
  | "oversized"
  /** The envelope declares a protocol version this implementation does not speak. */
  | "unsupported_version"
  /** The input parses, but a field breaks a rule of the spec (length, range, URI syntax, ...). */
  | "invalid_field";

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  readonly code: ProtocolErrorCode;
  /** Dotted path of the offending field, e.g. "send.envelopes[1].recipient_device". */
  readonly field?: string;

  constructor(code: ProtocolErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.field !== undefined) this.field = options.field;
  }
}

export function invalidField(field: string, message: string): ProtocolError {
  return new ProtocolError("invalid_field", `${field}: ${message}`, { field });
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}
