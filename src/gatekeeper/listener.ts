// What both of the gatekeeper's HTTP listeners share: a strict reading of the request target before anything else
// runs, connection limits against slow or numerous clients, and one error body for every refusal.
import { createServer } from "node:http";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import {
  applyConnectionLimits,
  checkRequestTarget,
  DEFAULT_CONNECTION_LIMITS,
  fastifyServerLimits,
  type ConnectionLimits,
  type TargetCheck,
} from "../util/http-hardening.js";
import { HttpError } from "./http-error.js";

export interface ListenerLimits extends ConnectionLimits {
  /** How often node checks the header and request deadlines (node's default is 30 s, coarser than the deadlines). */
  checkIntervalMs: number;
}

export const PUBLIC_LIMITS: ListenerLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  // A media upload may be up to 100 MiB: give a slow but honest uploader five minutes.
  requestTimeoutMs: 300_000,
  checkIntervalMs: 1_000,
};

export const ADMIN_LIMITS: ListenerLimits = { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 64, checkIntervalMs: 1_000 };

// Key uploads carry up to 1000 Kyber keys (about 2 KiB each in base64) per device.
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

/**
 * checkRequestTarget, except that an encoded slash is allowed: the interop spec puts URIs such as
 * `matrix:u/alice:example.org` into one path segment (`matrix%3Au%2Falice%3Aexample.org`), and fastify's router
 * (find-my-way) keeps reserved escapes like %2F encoded while matching, decoding them only into the parameter, so
 * %2F cannot act as a separator. It is checked as if it were another reserved escape (%3A), so every other rule holds.
 */
export function checkInteropTarget(target: string | undefined): TargetCheck {
  if (target === undefined) return checkRequestTarget(target);
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const check = checkRequestTarget(path.replace(/%2f/gi, "%3A") + (q === -1 ? "" : target.slice(q)));
  return check.ok ? { ok: true, path } : check;
}

export function createListener(name: string, limits: ListenerLimits, log: Logger): FastifyInstance {
  const app = Fastify({
    bodyLimit: JSON_BODY_LIMIT,
    logger: false,
    ...fastifyServerLimits(limits),
    // Our own node:http server, so the deadlines, their check interval and the connection cap hold from the first
    // connection on (fastify passes no check interval through).
    serverFactory: (handler) => {
      const server = createServer({ connectionsCheckingInterval: limits.checkIntervalMs }, handler);
      applyConnectionLimits(server, limits);
      server.setTimeout(fastifyServerLimits(limits).connectionTimeout);
      return server;
    },
  });

  // First hook of all: the path later checks look at must be the one the router matched. fastify decodes the path
  // before matching (`/%61dmin` is `/admin` to it), so anything not already in normal form is refused here.
  app.addHook("onRequest", async (request) => {
    const check = checkInteropTarget(request.raw.url);
    if (!check.ok) {
      log.warn({ listener: name, method: request.method, reason: check.reason }, "refused a request target that is not in normal form");
      throw new HttpError(400, "INVALID", `bad request target: ${check.reason}`);
    }
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    // After a refused upload the rest of the body may still be on the way: close instead of reading it.
    if (err instanceof HttpError && err.status === 413) reply.header("connection", "close");
    if (err instanceof HttpError) return reply.code(err.status).send(err.toBody());
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).header("connection", "close").send({ errcode: "TOO_LARGE", error: err.message });
    if (err.validation || err.code?.startsWith("FST_ERR_CTP") || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ errcode: "INVALID", error: err.message });
    }
    log.error({ err, listener: name, url: request.routeOptions.url }, "request failed");
    return reply.code(500).send({ errcode: "INTERNAL", error: "internal error" });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ errcode: "NOT_FOUND", error: `no route ${request.method} ${request.url.split("?")[0]}` }));
  return app;
}

/** http://host:port of a listening app, with the port actually bound (useful with port 0). */
export function listeningUrl(app: FastifyInstance, host: string): string {
  const address = app.server.address();
  if (typeof address !== "object" || !address) throw new Error("the server is not listening on a TCP port");
  return `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
}
