// One error type for everything the gatekeeper refuses over HTTP; the server turns it into `{errcode, error}`.

export type HttpErrcode =
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "UNKNOWN_USER"
  | "UNKNOWN_PROVIDER"
  | "NOT_OPTED_IN"
  | "NOT_FOUND"
  | "INVALID"
  | "CONFLICT"
  | "TOO_LARGE"
  | "BLOCKED"
  | "SUSPENDED"
  | "RATE_LIMITED"
  | "INTERNAL";

export interface HttpErrorBody {
  errcode: HttpErrcode;
  error: string;
  /** RATE_LIMITED: when to try again. */
  retry_after_ms?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: HttpErrcode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "HttpError";
  }

  toBody(): HttpErrorBody {
    return { errcode: this.errcode, error: this.message, ...(this.retryAfterMs === undefined ? {} : { retry_after_ms: this.retryAfterMs }) };
  }
}

export const unauthorized = (message: string) => new HttpError(401, "UNAUTHORIZED", message);
export const invalid = (message: string) => new HttpError(400, "INVALID", message);
