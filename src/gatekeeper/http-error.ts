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
  | "INTERNAL";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: HttpErrcode,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }

  toBody(): { errcode: HttpErrcode; error: string } {
    return { errcode: this.errcode, error: this.message };
  }
}

export const unauthorized = (message: string) => new HttpError(401, "UNAUTHORIZED", message);
export const invalid = (message: string) => new HttpError(400, "INVALID", message);
