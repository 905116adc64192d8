// Loopback addresses, for the admin API: it binds to one, answers only peers on one, and its client sends the admin
// token to nothing else.
import { isIP } from "node:net";

/** A peer address on the loopback interface (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

/** A host name or address the admin API may bind to. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackAddress(host);
}
