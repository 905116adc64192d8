/**
 * Grammar checks for Matrix identifiers: the one grammar of the bridge, for configured IDs and incoming ones alike.
 *
 * Homeserver responses and appservice transactions are untrusted input: an ID that does not look like an ID must be
 * caught where it enters, not deep inside the core where it would become a confusing database or URL error.
 * The checks follow the spec's appendix on identifiers, but accept the historical user ID localparts and the
 * room version 12 room IDs (no server name) that real servers still emit.
 */

/** The spec caps every identifier at 255 bytes. */
const MAX_ID_BYTES = 255;
/** The spec caps a full user ID at 255 bytes. */
export const MAX_USER_ID_LENGTH = MAX_ID_BYTES;

/** Characters the spec allows in localparts of newly created users. */
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
/** DNS labels as hostnames have them (RFC 1123): a name the spec's looser grammar admits beyond this is unreachable. */
const DNS_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

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

/** server_name = hostname [ ":" port ], hostname = IPv4 / "[" IPv6 "]" / DNS name. */
export function isServerName(serverName: string): boolean {
  const match = /^(.*?)(?::([0-9]{1,5}))?$/.exec(serverName);
  if (!match) return false;
  const host = match[1] ?? "";
  const port = match[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (host.length === 0 || host.length > 255) return false;
  return IPV4.test(host) || IPV6_LITERAL.test(host) || DNS_NAME.test(host);
}

/** A localpart the spec allows for a newly created user (the bot, the puppets). */
export function isLocalpart(localpart: string): boolean {
  return LOCALPART.test(localpart);
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

export interface ParsedUserId {
  localpart: string;
  serverName: string;
}

/** Splits "@local:server" at the first colon (the server name may itself contain a port colon); null if invalid. */
export function parseUserId(userId: string): ParsedUserId | null {
  if (!isUserId(userId)) return null;
  const parts = splitServer(userId)!;
  return { localpart: parts.local, serverName: parts.server };
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
