/**
 * Checks the homeserver's token on requests to the appservice API.
 *
 * The comparison runs over SHA-256 digests so that `timingSafeEqual` always sees equal-length inputs: comparing the
 * raw strings would leak the token's length, and an early-exit comparison would leak its prefix.
 */
import { createHash, timingSafeEqual } from "node:crypto";

export type TokenCheck =
  | { ok: true }
  | { ok: false; status: 401; errcode: "M_UNAUTHORIZED"; error: string }
  | { ok: false; status: 403; errcode: "M_FORBIDDEN"; error: string };

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The bearer token from an `Authorization` header value, or undefined if the header is absent or another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export class HomeserverTokenChecker {
  readonly #expected: Buffer;

  constructor(hsToken: string) {
    if (hsToken.length === 0) throw new Error("hs_token must not be empty");
    this.#expected = digest(hsToken);
  }

  /**
   * Checks the `Authorization: Bearer` header and the legacy `access_token` query parameter that homeservers
   * configured with `use_appservice_legacy_authorization` still send. Either may carry the token, and every one that
   * is present must be right: a wrong header cannot be rescued by a right parameter, nor the other way round, and an
   * `Authorization` header of another scheme or a repeated parameter counts as a wrong token rather than none.
   */
  check(authorizationHeader: string | undefined, accessTokenParam: unknown): TokenCheck {
    const presented: unknown[] = [];
    if (authorizationHeader !== undefined) presented.push(bearerToken(authorizationHeader));
    if (accessTokenParam !== undefined) presented.push(accessTokenParam);
    if (presented.length === 0) {
      return { ok: false, status: 401, errcode: "M_UNAUTHORIZED", error: "Missing homeserver token" };
    }
    let allRight = true;
    // Every presented token is compared, so the time taken does not say which one was wrong.
    for (const token of presented) {
      const right = typeof token === "string" && timingSafeEqual(digest(token), this.#expected);
      allRight &&= right;
    }
    if (!allRight) return { ok: false, status: 403, errcode: "M_FORBIDDEN", error: "Invalid homeserver token" };
    return { ok: true };
  }
}
