/**
 * Errors of the client-server API client. Callers (the core's durable outbox above all) need to tell apart
 * "the homeserver said no" (`MatrixApiError`, with the Matrix errcode), "we could not reach it"
 * (`MatrixConnectionError`) and "it answered something unusable" (`MatrixResponseError`).
 */

/** The homeserver answered with an HTTP error status. */
export class MatrixApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    /** The homeserver's human-readable `error` field. */
    readonly error: string,
    /** How long the homeserver asked us to wait, for 429 answers. */
    readonly retryAfterMs: number | undefined,
    readonly method: string,
    /** Request path without the query string. */
    readonly path: string,
    /** The full JSON error body, e.g. for user-interactive auth flows. */
    readonly body: unknown,
  ) {
    super(`${method} ${path}: ${status} ${errcode}: ${error}`);
    this.name = "MatrixApiError";
  }

  /**
   * The same request will be refused the same way however often it is sent (see isPermanentMatrixError), so
   * queues give up at once instead of retrying and holding back the chat's later messages.
   */
  get permanent(): boolean {
    return isPermanentMatrixError(this);
  }
}

/**
 * Refusals about the request itself: too large (413, M_TOO_LARGE), not JSON or malformed (M_NOT_JSON, M_BAD_JSON,
 * M_INVALID_PARAM), or an endpoint the homeserver does not have (M_UNRECOGNIZED). M_FORBIDDEN and M_NOT_FOUND
 * are not among them: they also answer races (a puppet not joined yet, a room still being created) that a retry
 * outlives.
 */
const PERMANENT_ERRCODES = new Set(["M_TOO_LARGE", "M_NOT_JSON", "M_BAD_JSON", "M_INVALID_PARAM", "M_UNRECOGNIZED"]);

export function isPermanentMatrixError(error: unknown): boolean {
  if (!(error instanceof MatrixApiError)) return false;
  if (error.status === 429 || error.status >= 500) return false;
  return error.status === 413 || PERMANENT_ERRCODES.has(error.errcode);
}

/** The request never got an HTTP answer: connection refused or reset, DNS failure, or our timeout. */
export class MatrixConnectionError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`${method} ${path}: no answer from the homeserver: ${describeCause(cause)}`, { cause });
    this.name = "MatrixConnectionError";
  }
}

/** The homeserver answered 2xx, but the body is not what the API promises (e.g. no valid room ID). */
export class MatrixResponseError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${method} ${path}: unusable response from the homeserver: ${reason}`);
    this.name = "MatrixResponseError";
  }
}

/** A download is larger than the caller allowed. */
export class MatrixMediaTooLargeError extends Error {
  constructor(
    readonly mxc: string,
    readonly limitBytes: number,
  ) {
    super(`media ${mxc} is larger than the allowed ${limitBytes} bytes`);
    this.name = "MatrixMediaTooLargeError";
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause as { code?: unknown; message?: unknown } | undefined;
    if (inner && typeof inner.code === "string") return `${cause.message} (${inner.code})`;
    return cause.message;
  }
  return String(cause);
}

/**
 * True for failures worth trying again later: no answer, rate limiting, or a server-side error.
 * Everything else (403, 404, 400, ...) will fail the same way next time.
 */
export function isTransientMatrixError(error: unknown): boolean {
  if (error instanceof MatrixConnectionError) return true;
  if (error instanceof MatrixApiError) return error.status === 429 || (error.status >= 500 && error.status !== 501);
  return false;
}
