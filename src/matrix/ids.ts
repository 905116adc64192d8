/**
 * Grammar checks for Matrix identifiers.
 *
 * Homeserver responses and appservice transactions are untrusted input: an ID that does not look like an ID must be
 * caught where it enters, not deep inside the core where it would become a confusing database or URL error.
 * The checks follow the spec's appendix on identifiers, but accept the historical user ID localparts and the
 * room version 12 room IDs (no server name) that real servers still emit.
 */

/** The spec caps every identifier at 255 bytes. */
const MAX_ID_BYTES = 255;

/** A hostname, IPv4 address or bracketed IPv6 literal, with an optional port. */
const SERVER_NAME = /^(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.-]{1,255})(?::\d{1,5})?$/;

/** Printable ASCII without ':' (historical user ID localparts allow all of it). */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3B-\x7E]+$/;

/** Opaque parts of room and event IDs: printable ASCII, no whitespace. */
const OPAQUE = /^[\x21-\x7E]+$/;

const MEDIA_ID = /^[A-Za-z0-9_-]+$/;

function withinLength(id: string): boolean {
  return Buffer.byteLength(id, "utf8") <= MAX_ID_BYTES;
}

/** Splits `<sigil>localpart:server` at the first colon (server names may contain a port colon). */
function splitServer(id: string): { local: string; server: string } | undefined {
  const colon = id.indexOf(":");
  if (colon < 0) return undefined;
  return { local: id.slice(1, colon), server: id.slice(colon + 1) };
}

export function isServerName(name: string): boolean {
  return SERVER_NAME.test(name);
}

export function isUserId(id: string): boolean {
  if (!id.startsWith("@") || !withinLength(id)) return false;
  const parts = splitServer(id);
  return parts !== undefined && HISTORICAL_LOCALPART.test(parts.local) && isServerName(parts.server);
}

export function isRoomId(id: string): boolean {
  if (!id.startsWith("!") || !withinLength(id)) return false;
  // Room version 12 drops the server name from room IDs; older versions have one.
  return OPAQUE.test(id.slice(1));
}

export function isEventId(id: string): boolean {
  return id.startsWith("$") && withinLength(id) && OPAQUE.test(id.slice(1));
}

export function isRoomAlias(alias: string): boolean {
  if (!alias.startsWith("#") || !withinLength(alias)) return false;
  const parts = splitServer(alias);
  return parts !== undefined && parts.local.length > 0 && OPAQUE.test(parts.local) && isServerName(parts.server);
}

/** The localpart of a user ID (everything between '@' and the first ':'). */
export function userLocalpart(userId: string): string {
  assertUserId(userId);
  return userId.slice(1, userId.indexOf(":"));
}

/** The server name of a user ID. */
export function userServerName(userId: string): string {
  assertUserId(userId);
  return userId.slice(userId.indexOf(":") + 1);
}

export interface MxcUri {
  serverName: string;
  mediaId: string;
}

/** Parses `mxc://<server-name>/<media-id>`; returns undefined for anything else. */
export function parseMxc(uri: string): MxcUri | undefined {
  const prefix = "mxc://";
  if (!uri.startsWith(prefix)) return undefined;
  const rest = uri.slice(prefix.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return undefined;
  const serverName = rest.slice(0, slash);
  const mediaId = rest.slice(slash + 1);
  if (!isServerName(serverName) || !MEDIA_ID.test(mediaId)) return undefined;
  return { serverName, mediaId };
}

export function isMxcUri(uri: string): boolean {
  return parseMxc(uri) !== undefined;
}

/** Thrown when a caller passes something that is not the kind of Matrix ID the operation needs. */
export class InvalidMatrixIdError extends TypeError {
  constructor(
    readonly kind: "user ID" | "room ID" | "event ID" | "room ID or alias" | "mxc URI",
    readonly value: string,
  ) {
    super(`not a valid Matrix ${kind}: ${JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value)}`);
    this.name = "InvalidMatrixIdError";
  }
}

export function assertUserId(id: string): void {
  if (!isUserId(id)) throw new InvalidMatrixIdError("user ID", id);
}

export function assertRoomId(id: string): void {
  if (!isRoomId(id)) throw new InvalidMatrixIdError("room ID", id);
}

export function assertEventId(id: string): void {
  if (!isEventId(id)) throw new InvalidMatrixIdError("event ID", id);
}

export function assertMxc(uri: string): MxcUri {
  const parsed = parseMxc(uri);
  if (!parsed) throw new InvalidMatrixIdError("mxc URI", uri);
  return parsed;
}
