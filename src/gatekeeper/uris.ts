// The gatekeeper's questions about interop URIs ("which domain?", "which phone number?"), answered by the shared
// parser in src/protocol/uri.ts so both sides agree on one canonical spelling.
import { isProtocolError } from "../protocol/errors.js";
import { normalisePhoneNumber, parseUri, telUri } from "../protocol/uri.js";
import { invalid } from "./http-error.js";

/** The server name of a canonical matrix: user URI (lowercased), or undefined for anything else. */
export function matrixUserDomain(uri: string): string | undefined {
  try {
    const parsed = parseUri(uri);
    if (parsed.kind !== "matrix") return undefined;
    return parsed.userId.slice(parsed.userId.indexOf(":") + 1).toLowerCase();
  } catch {
    return undefined;
  }
}

/** The E.164 number of a canonical tel: URI, or undefined for anything else. */
export function telUriE164(uri: string): string | undefined {
  try {
    const parsed = parseUri(uri);
    return parsed.kind === "tel" ? parsed.e164 : undefined;
  } catch {
    return undefined;
  }
}

export function telUriOf(e164: string): string {
  return telUri(e164);
}

/** A canonical interop URI from untrusted input, or a 400 saying what is wrong. */
export function requireUri(uri: string): string {
  try {
    parseUri(uri);
    return uri;
  } catch (err) {
    throw invalid(err instanceof Error ? err.message : String(err));
  }
}

/** A phone number in any common spelling (+49 151 1234 5678, 0049-151..., tel:+49...) to E.164, or a 400. */
export function normalisePhone(input: string): string {
  try {
    return normalisePhoneNumber(input.trim().replace(/^tel:/i, ""));
  } catch (err) {
    if (isProtocolError(err)) throw invalid(err.message);
    throw err;
  }
}
