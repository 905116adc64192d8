// What both HTTP servers (the bridge's appservice endpoint and the reference gatekeeper) need against hostile clients:
// one strict reading of the request target, and limits on how long and how many connections may stay open.
//
// Hand-written rather than taken from a library: the checks are a dozen lines over node:http's own settings, and the
// point is to be strict in exactly the way our routers are not (fastify decodes a path before matching it).
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

export type TargetCheck = { ok: true; path: string } | { ok: false; reason: string };

// RFC 3986 unreserved characters: percent-encoding one of them is never needed, so doing it only serves to make one
// path look like another.
const ENCODED_UNRESERVED = /%(?:[46][1-9a-f]|[57][0-9a]|3[0-9]|2d|2e|5f|7e)/i;

export interface TargetOptions {
  /**
   * Let `%2F` through inside a segment. For APIs that put a URI with slashes into one path segment (the interop
   * protocol's `matrix%3Au%2Falice%3Aexample.org`): fastify's router keeps reserved escapes encoded while matching
   * and decodes them only into the parameter, so an encoded slash cannot act as a separator there.
   */
  allowEncodedSlash?: boolean;
}

/**
 * Accepts only origin-form targets (`/path?query`) whose path is already normal: no absolute form, no empty, `.` or
 * `..` segments, no trailing slash, no encoded slash (unless allowed), backslash or unreserved character. Everything
 * else is refused rather than guessed at, so the path a check looks at is the path the router matches.
 */
export function checkRequestTarget(target: string | undefined, options: TargetOptions = {}): TargetCheck {
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
  if (/%5c/i.test(path) || (!options.allowEncodedSlash && /%2f/i.test(path))) return { ok: false, reason: "the path has an encoded slash" };
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
 * Node checks the header and request deadlines only on a timer (30 s by default), so a deadline of 10 s could let a
 * connection live 40 s. Checking a few times per deadline keeps the bound close; a check walks only open connections.
 */
function checkingIntervalMs(limits: ConnectionLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)));
}

/** The limits as node:http server options; only these are read when the server is created. */
export function httpServerOptions(limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(limits),
  };
}

/**
 * The same limits in fastify's option names, for `Fastify({...})`, so they are set before the server listens.
 * `connectionTimeout` bounds a socket that never sends a complete request, which `requestTimeout` alone does not;
 * `http` carries the header deadline and its checking interval, which node:http reads only at creation.
 */
export function fastifyServerLimits(limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): {
  connectionTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    connectionTimeout: limits.requestTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: httpServerOptions(limits),
  };
}

/** Applies what fastify does not expose as options: the header deadline and the connection cap. */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.requestTimeoutMs);
}

/**
 * Closes a connection that has sent no byte at all within the header deadline. node:http's header deadline covers a
 * request only once it has started, and (measured on Node 24) once its checker has looked at a connection that has
 * sent nothing, that socket's own inactivity timeout no longer fires either: such connections stayed open for good.
 */
export function closeSilentConnections(server: Server, deadlineMs: number): void {
  server.on("connection", (socket) => {
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy();
    }, deadlineMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A `serverFactory` for fastify: a node:http server with the limits applied that refuses a request whose target
 * fails `checkRequestTarget` before the router ever sees it (fastify's hooks run only after routing, on the decoded
 * path). `refuse` writes the answer in the caller's error format; the connection is closed after it.
 */
export function guardedServerFactory(
  refuse: (req: IncomingMessage, res: ServerResponse, reason: string) => void,
  limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
  targetOptions: TargetOptions = {},
): (handler: RequestListener) => Server {
  return (handler) => {
    const server = createServer(httpServerOptions(limits), (req, res) => {
      const target = checkRequestTarget(req.url, targetOptions);
      if (target.ok) return handler(req, res);
      // The body of a refused request is never read; keeping the connection would mean parsing it as the next request.
      res.shouldKeepAlive = false;
      refuse(req, res, target.reason);
    });
    guardUpgrades(server, targetOptions);
    applyConnectionLimits(server, limits);
    closeSilentConnections(server, limits.headersTimeoutMs);
    return server;
  };
}

/**
 * The same check for upgrade requests (WebSocket handshakes), which node:http hands to 'upgrade' listeners instead of
 * the request handler. Wrapping emit is the one place that runs before every such listener, whoever registers it.
 */
function guardUpgrades(server: Server, targetOptions: TargetOptions): void {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
  server.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event === "upgrade") {
      const [req, socket] = args as [IncomingMessage, Duplex];
      if (!checkRequestTarget(req.url, targetOptions).ok) {
        socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
        return true;
      }
    }
    return emit(event, ...args);
  }) as Server["emit"];
}
