// Typed failures of the interop client, so callers branch on a code instead of parsing messages.
import { ErrorCode, type SendResult } from "../protocol/gen/interop_pb.js";

/** Why the gatekeeper refused a Send (the names of proto ErrorCode), plus NO_DEVICES: the recipient has none. */
export type SendErrorCode =
  | "UNKNOWN_USER"
  | "NOT_OPTED_IN"
  | "BLOCKED"
  | "STALE_DEVICES"
  | "RATE_LIMITED"
  | "INVALID"
  | "UNAUTHORIZED"
  | "INTERNAL"
  | "NO_DEVICES";

/** The gatekeeper refused a message (or the recipient cannot be reached at all). Nothing was delivered. */
export class InteropSendError extends Error {
  override readonly name = "InteropSendError";
  constructor(
    readonly code: SendErrorCode,
    message: string,
    readonly details: { retryAfterMs?: number; currentDevices?: number[]; staleDevices?: number[] } = {},
  ) {
    super(message);
  }

  /** For RATE_LIMITED: how long to wait before trying again. */
  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }

  /** Whether sending the same message later may succeed without anyone changing anything. */
  get retryable(): boolean {
    return this.code === "RATE_LIMITED" || this.code === "INTERNAL" || this.code === "STALE_DEVICES";
  }

  static fromResult(result: SendResult, recipient: string): InteropSendError {
    const name = ErrorCode[result.code] as string | undefined;
    // Codes newer than this client are treated like INTERNAL: failed, may work later (docs/interop-protocol.md).
    const code: SendErrorCode =
      name !== undefined && name !== "ERROR_CODE_UNSPECIFIED" ? (name as SendErrorCode) : "INTERNAL";
    const detail = result.detail ? `: ${result.detail}` : "";
    return new InteropSendError(code, `gatekeeper refused the message to ${recipient} (${code})${detail}`, {
      ...(result.retryAfterMs ? { retryAfterMs: result.retryAfterMs } : {}),
      currentDevices: [...result.currentDevices],
      staleDevices: [...result.staleDevices],
    });
  }
}

/**
 * The gatekeeper could not be asked: not connected in time, or the connection dropped before the answer came. In
 * the latter case the gatekeeper may have accepted the envelopes; sending the same envelopes again is safe, since
 * it deduplicates by (message id, recipient, device).
 */
export class InteropUnavailableError extends Error {
  override readonly name = "InteropUnavailableError";
  constructor(
    message: string,
    /** True when a Send went out and its outcome is unknown. */
    readonly outcomeUnknown: boolean,
  ) {
    super(message);
  }
}

/** An HTTP request to the gatekeeper failed: `errcode` is the gatekeeper's (UNKNOWN_USER, NOT_OPTED_IN, ...). */
export class GatekeeperHttpError extends Error {
  override readonly name = "GatekeeperHttpError";
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }

  /**
   * The gatekeeper could not be reached or answered with a gateway/server failure (status 0 = no HTTP answer at
   * all, errcode UNREACHABLE): worth retrying later, unlike a refusal.
   */
  get unreachable(): boolean {
    return this.status === 0 || this.status >= 502;
  }
}

/**
 * Thrown by an envelope handler that will not deliver an envelope to its recipient (the user may no longer use the
 * bridge, or blocked the sender): the client acknowledges it with the refusal, so the gatekeeper drops it and tells
 * the sender, instead of redelivering it for ever or it vanishing without a word.
 */
export class EnvelopeRefusedError extends Error {
  override readonly name = "EnvelopeRefusedError";
  constructor(
    readonly code: ErrorCode.UNKNOWN_USER | ErrorCode.BLOCKED | ErrorCode.RATE_LIMITED,
    /** For the gatekeeper's log; says why without naming the user. */
    readonly detail: string,
  ) {
    super(`envelope refused (${ErrorCode[code]}): ${detail}`);
  }
}
