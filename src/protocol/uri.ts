// Interop identities. A remote user is `tel:<E.164>`, a Matrix user is `matrix:u/<localpart>:<server>` (the user form
// of the matrix: URI scheme from MSC2312). Each identity has exactly one spelling, so URI strings can be compared and
// stored as keys without normalising them again.
//
// Two levels of checking on purpose: phone numbers typed by people go through libphonenumber-js with full metadata
// (normalisePhoneNumber); tel: URIs arriving on the wire are only checked for E.164 syntax, because numbering plans
// change and a decoder must not drop a message because its metadata is older than the sender's.
import { isSupportedCountry, parsePhoneNumberWithError, ParseError, type CountryCode } from "libphonenumber-js/max";
import { ProtocolError } from "./errors.js";
import { MAX_URI_LENGTH } from "./limits.js";

export type InteropUri = { kind: "tel"; e164: string } | { kind: "matrix"; userId: string };

const E164_PATTERN = /^\+[1-9][0-9]{6,14}$/;
const MAX_PHONE_INPUT_LENGTH = 64;
const MAX_USER_ID_LENGTH = 255;

function uriError(message: string, field = "uri"): ProtocolError {
  return new ProtocolError("invalid_field", message, { field });
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

// ---------------------------------------------------------------------------------------------------------------
// Phone numbers

export function isE164(s: unknown): s is string {
  return typeof s === "string" && E164_PATTERN.test(s);
}

function checkE164(e164: string, field: string): void {
  if (!isE164(e164)) {
    throw uriError(`${field}: expected an E.164 number like +4915112345678, got ${quote(String(e164))}`, field);
  }
}

const PARSE_ERROR_TEXT: Record<string, string> = {
  INVALID_COUNTRY: "it has no country code: write it in international form (+49 151 …) or configure a default country",
  NOT_A_NUMBER: "it is not a phone number",
  TOO_SHORT: "it is too short",
  TOO_LONG: "it is too long",
  INVALID_LENGTH: "it has the wrong number of digits",
};

/**
 * Normalises a phone number typed by a person to E.164 ("+4915112345678"). Accepts the usual separators, a national
 * number when `defaultCountry` is given, and the international "00" prefix (taken as "+" when no default country
 * is given, since 00 is the international prefix in most of the world). Throws ProtocolError("invalid_field",
 * field "phoneNumber") with a message meant for the user.
 */
export function normalisePhoneNumber(input: string, defaultCountry?: string): string {
  const field = "phoneNumber";
  if (typeof input !== "string") throw uriError("a phone number must be a string", field);
  const text = input.trim();
  if (text.length === 0) throw uriError("the phone number is empty", field);
  if (text.length > MAX_PHONE_INPUT_LENGTH) {
    throw uriError(`${quote(text)} is not a phone number: it is longer than ${MAX_PHONE_INPUT_LENGTH} characters`, field);
  }
  let country: CountryCode | undefined;
  if (defaultCountry !== undefined) {
    const upper = defaultCountry.toUpperCase();
    if (!isSupportedCountry(upper)) {
      throw uriError(`unknown default country ${quote(defaultCountry)} (expected an ISO 3166 code like DE)`, field);
    }
    country = upper;
  }
  // Letters would otherwise be read as a keypad "vanity" number or an extension marker.
  if (/[A-Za-z]/.test(text)) throw uriError(`${quote(text)} is not a phone number: it contains letters`, field);
  const candidate = country === undefined && text.startsWith("00") ? `+${text.slice(2)}` : text;
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(candidate, { defaultCountry: country, extract: false });
  } catch (err) {
    const reason = err instanceof ParseError ? (PARSE_ERROR_TEXT[err.message] ?? err.message) : String(err);
    throw new ProtocolError("invalid_field", `${quote(text)} is not a valid phone number: ${reason}`, {
      field,
      cause: err,
    });
  }
  if (parsed.ext !== undefined) {
    throw uriError(`${quote(text)} has an extension; only plain numbers can use the interop network`, field);
  }
  if (!parsed.isValid()) {
    const where = parsed.country ?? `country code +${parsed.countryCallingCode}`;
    throw uriError(`${quote(text)} is not a valid phone number for ${where}`, field);
  }
  // libphonenumber's metadata accepts some national numbers that make more than E.164's 15 digits (found by the
  // fuzzer: "07911 111 2.345678" with DE); telUri would then refuse the result with a message meant for developers.
  if (!isE164(parsed.number)) throw uriError(`${quote(text)} is not a valid phone number: it has too many digits`, field);
  return parsed.number;
}

/** The E.164 form of `input` when it is a valid, dialable number; null otherwise (for checks that need no reason). */
export function validPhoneNumber(input: string): string | null {
  try {
    return normalisePhoneNumber(input);
  } catch {
    return null;
  }
}

/**
 * "+4915112345678" -> "+49 1511 2345678"; numbers libphonenumber cannot place are returned as they are. Throws
 * RangeError for anything that is not E.164 at all: callers pass numbers taken from tel: URIs, never user input.
 */
export function formatPhoneInternational(e164: string): string {
  checkE164(e164, "e164");
  try {
    return parsePhoneNumberWithError(e164).formatInternational();
  } catch {
    return e164;
  }
}

export function telUri(e164: string): string {
  checkE164(e164, "e164");
  return `tel:${e164}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Matrix user IDs

// Characters a localpart keeps in its URI form: the current user ID grammar minus "/", which would split the path.
// Everything else (historical user IDs allow any printable ASCII but ':') is percent-encoded with uppercase hex.
const LOCALPART_LITERAL = /^[A-Za-z0-9._=+-]$/;
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3b-\x7e]+$/;
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::[0-9]{1,5})?$/;

function checkUserId(userId: string, field: string): { localpart: string; serverName: string } {
  if (typeof userId !== "string" || !userId.startsWith("@")) {
    throw uriError(`${field}: a Matrix user ID starts with "@", got ${quote(String(userId))}`, field);
  }
  if (Buffer.byteLength(userId) > MAX_USER_ID_LENGTH) {
    throw uriError(`${field}: a Matrix user ID is at most ${MAX_USER_ID_LENGTH} bytes`, field);
  }
  const colon = userId.indexOf(":");
  const localpart = colon < 0 ? "" : userId.slice(1, colon);
  const serverName = colon < 0 ? "" : userId.slice(colon + 1);
  if (localpart.length === 0 || !HISTORICAL_LOCALPART.test(localpart)) {
    throw uriError(`${field}: ${quote(userId)} has no valid localpart`, field);
  }
  const port = /:([0-9]+)$/.exec(serverName)?.[1];
  if (!SERVER_NAME.test(serverName) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
    throw uriError(`${field}: ${quote(userId)} has no valid server name`, field);
  }
  return { localpart, serverName };
}

function encodeLocalpart(localpart: string): string {
  let out = "";
  for (const ch of localpart) {
    out += LOCALPART_LITERAL.test(ch) ? ch : `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** "@alice:example.org" -> "matrix:u/alice:example.org". */
export function matrixUri(userId: string): string {
  const { localpart, serverName } = checkUserId(userId, "userId");
  return `matrix:u/${encodeLocalpart(localpart)}:${serverName}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing

/** Parses an interop URI; only the canonical spelling is accepted (no query, fragment, or alternative encoding). */
export function parseUri(s: string, field = "uri"): InteropUri {
  if (typeof s !== "string") throw uriError(`${field}: a URI must be a string`, field);
  if (s.length === 0) throw uriError(`${field}: the URI is empty`, field);
  if (s.length > MAX_URI_LENGTH) throw uriError(`${field}: the URI is longer than ${MAX_URI_LENGTH} characters`, field);
  if (s.startsWith("tel:")) {
    const e164 = s.slice(4);
    if (!isE164(e164)) {
      throw uriError(`${field}: ${quote(s)} is not a tel: URI with an E.164 number (tel:+4915112345678)`, field);
    }
    return { kind: "tel", e164 };
  }
  if (s.startsWith("matrix:u/")) {
    const body = s.slice("matrix:u/".length);
    const colon = body.indexOf(":");
    const encoded = colon < 0 ? body : body.slice(0, colon);
    let localpart: string;
    try {
      localpart = decodeURIComponent(encoded);
    } catch {
      throw uriError(`${field}: ${quote(s)} has a malformed percent-encoding`, field);
    }
    const userId = `@${localpart}${colon < 0 ? "" : body.slice(colon)}`;
    let canonical: string;
    try {
      canonical = matrixUri(userId);
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^userId: /, "") : String(err);
      throw uriError(`${field}: ${quote(s)} is not a Matrix user URI: ${why}`, field);
    }
    if (canonical !== s) {
      throw uriError(`${field}: ${quote(s)} is not in canonical form; expected ${quote(canonical)}`, field);
    }
    return { kind: "matrix", userId };
  }
  throw uriError(`${field}: ${quote(s)} is neither a tel: nor a matrix:u/ URI`, field);
}

export function isValidUri(s: unknown): s is string {
  if (typeof s !== "string") return false;
  try {
    parseUri(s);
    return true;
  } catch {
    return false;
  }
}

/** Throws ProtocolError("invalid_field") naming `field` unless `s` is a canonical interop URI. */
export function checkUri(s: string, field: string): void {
  parseUri(s, field);
}

/** The digits of a phone number for templates such as `wa_{digits}`: "tel:+4915112345678" or "+49…" -> "49…". */
export function uriDigits(uriOrE164: string): string {
  const e164 = typeof uriOrE164 === "string" && uriOrE164.startsWith("tel:") ? uriOrE164.slice(4) : uriOrE164;
  checkE164(e164, "uri");
  return e164.slice(1);
}
