// What both HTTP servers (the bridge's appservice endpoint and the reference gatekeeper) need against hostile clients:
// one strict reading of the request target, and limits on how long and how many connections may stay open.
//
// Hand-written rather than taken from a library: the checks are a dozen lines over node:http's own settings, and the
// point is to be strict in exactly the way our routers are not (fastify decodes a path before matching it).
import type { Server } from "node:http";

export type TargetCheck = { ok: true; path: string } | { ok: false; reason: string };

// RFC 3986 unreserved characters: percent-encoding one of them is never needed, so doing it only serves to make one
// path look like another.
const ENCODED_UNRESERVED = /%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2d|2e|5f|7e)/i;

/**
 * Accepts only origin-form targets (`/path?query`) whose path is already normal: no absolute form, no empty, `.` or
 * `..` segments, no trailing slash, no encoded slash, backslash or unreserved character. Everything else is refused
 * rather than guessed at, so the path a check looks at is the path the router matches.
 */
export function checkRequestTarget(target: string | undefined): TargetCheck {
  if (!target || target[0] !== "/") return { ok: false, reason: "the request target must be a path (origin form)" };
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  if (target.includes("#")) return { ok: false, reason: "the request target must not carry a fragment" };
  if (path.length > 1 && path.endsWith("/")) return { ok: false, reason: "the path must not end with a slash" };
  for (const segment of path.slice(1).split("/")) {
    if (segment === "" && path !== "/") return { ok: false, reason: "the path has an empty segment" };
    if (segment === "." || segment === "..") return { ok: false, reason: "the path has a dot segment" };
  }
  if (path.includes("\\")) return { ok: false, reason: "the path has a backslash" };
  if (/%(?:2f|5c)/i.test(path)) return { ok: false, reason: "the path has an encoded slash" };
  if (ENCODED_UNRESERVED.test(path)) return { ok: false, reason: "the path percent-encodes a character that needs no encoding" };
  if (/%(?![0-9a-f]{2})/i.test(path)) return { ok: false, reason: "the path has a malformed percent-escape" };
  return { ok: true, path };
}

export interface ConnectionLimits {
  /** Whole request headers must arrive within this (slowloris). */
  headersTimeoutMs: number;
  /** Whole request, body included, must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections open at once; more are refused by the kernel-level accept loop closing them. */
  maxConnections: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 30_000,
  maxConnections: 512,
};

/**
 * The same limits in fastify's option names, for `Fastify({...})`, so they are set before the server listens.
 * `connectionTimeout` bounds a socket that never sends a complete request, which `requestTimeout` alone does not.
 */
export function fastifyServerLimits(limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): {
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
} {
  return { connectionTimeout: limits.requestTimeoutMs, requestTimeout: limits.requestTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs };
}

/** Applies what fastify does not expose as options: the header deadline and the connection cap. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}
