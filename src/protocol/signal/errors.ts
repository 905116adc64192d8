// One error type for the Signal layer, with a code the caller can branch on instead of parsing libsignal messages.
import { ErrorCode, LibSignalErrorBase } from "@signalapp/libsignal-client";
import { StoreError } from "../../sql/sql.js";

export type SignalErrorCode =
  /** Bad argument from our own code (device ID out of range, unit of work already committed, ...). */
  | "invalid-argument"
  /** The local device has no identity yet (call ensureLocalIdentity). */
  | "no-local-identity"
  /** A prekey bundle from the network is malformed or its signatures do not verify. */
  | "invalid-bundle"
  /** A `message` envelope arrived but there is no session with the sender device. */
  | "no-session"
  /** The message was already decrypted (a redelivery); deduplicate before decrypting. */
  | "duplicate-message"
  /** The remote identity key changed and the store's policy rejects changes. */
  | "untrusted-identity"
  /** A PreKey message names a prekey this device does not have (used up, or never ours). */
  | "unknown-prekey"
  /** A PreKey message reuses a last-resort Kyber prekey with a base key seen before: a replay. */
  | "replayed-prekey-message"
  /** Ciphertext that does not parse or authenticate. */
  | "invalid-message"
  /** Another unit of work for the same local device committed first; this one's reads are stale. */
  | "concurrent-modification";

export class SignalError extends Error {
  override readonly name = "SignalError";
  constructor(
    readonly code: SignalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Maps an error thrown by a libsignal call to a SignalError (our own errors pass through unchanged). A database
 * error raised by a store method inside the call (a full disk, an unreachable database) comes back as itself: it
 * says nothing about the ciphertext, and calling it undecryptable would make the caller give the message up.
 */
export function translateLibsignalError(err: unknown, fallback: SignalErrorCode, context: string): SignalError | StoreError {
  if (err instanceof SignalError || err instanceof StoreError) return err;
  // Errors our store methods throw inside a libsignal call come back wrapped; find ours in the cause chain.
  let cause: unknown = err;
  for (let depth = 0; depth < 5 && cause instanceof Error; depth++) {
    if (cause instanceof SignalError || cause instanceof StoreError) return cause;
    cause = cause.cause;
  }
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof LibSignalErrorBase) {
    if (err.code === ErrorCode.DuplicatedMessage) {
      return new SignalError("duplicate-message", `${context}: message already decrypted`, { cause: err });
    }
    if (err.code === ErrorCode.UntrustedIdentity) {
      return new SignalError("untrusted-identity", `${context}: remote identity key changed`, { cause: err });
    }
    if (err.code === ErrorCode.InvalidSession) {
      return new SignalError("no-session", `${context}: no usable session (${text})`, { cause: err });
    }
  }
  return new SignalError(fallback, `${context}: ${text}`, { cause: err });
}
