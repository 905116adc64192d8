// Matrix identifier grammar (spec "Appendices: Identifier Grammar"), used to validate configured
// localparts, server names and permission keys before they reach the homeserver.

/** Characters the spec allows in localparts of newly created users. */
const LOCALPART = /^[a-z0-9._=\-/+]+$/;
/** Historical localparts (any printable ASCII but ':') still exist on older servers, so access rules accept them. */
const HISTORICAL_LOCALPART = /^[\x21-\x39\x3B-\x7E]+$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/;
const IPV6_LITERAL = /^\[[0-9A-Fa-f:.]{2,45}\]$/;
const DNS_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** The spec caps a full user ID at 255 bytes. */
export const MAX_USER_ID_LENGTH = 255;

export function isValidLocalpart(localpart: string): boolean {
  return LOCALPART.test(localpart);
}

/** server_name = hostname [ ":" port ], hostname = IPv4 / "[" IPv6 "]" / DNS name. */
export function isValidServerName(serverName: string): boolean {
  const match = /^(.*?)(?::([0-9]{1,5}))?$/.exec(serverName);
  if (!match) return false;
  const host = match[1] ?? "";
  const port = match[2];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return false;
  if (host.length === 0 || host.length > 255) return false;
  return IPV4.test(host) || IPV6_LITERAL.test(host) || DNS_NAME.test(host);
}

export interface ParsedUserId {
  localpart: string;
  serverName: string;
}

/** Splits "@local:server" at the first colon (the server name may itself contain a port colon). */
export function parseUserId(userId: string): ParsedUserId | null {
  if (!userId.startsWith("@") || userId.length > MAX_USER_ID_LENGTH) return null;
  const colon = userId.indexOf(":");
  if (colon < 2) return null;
  const localpart = userId.slice(1, colon);
  const serverName = userId.slice(colon + 1);
  if (!HISTORICAL_LOCALPART.test(localpart) || !isValidServerName(serverName)) return null;
  return { localpart, serverName };
}
