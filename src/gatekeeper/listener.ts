// What both of the gatekeeper's HTTP listeners share: a strict reading of the request target before anything else
// runs, connection limits against slow or numerous clients, and one error body for every refusal.
import type { IncomingMessage, ServerResponse } from "node:http";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { DEFAULT_CONNECTION_LIMITS, fastifyServerLimits, guardedServerFactory, type ConnectionLimits } from "../util/http-hardening.js";
import { HttpError } from "./http-error.js";

export const PUBLIC_LIMITS: ConnectionLimits = {
  ...DEFAULT_CONNECTION_LIMITS,
  // A media upload may be up to 100 MiB: give a slow but honest uploader five minutes.
  requestTimeoutMs: 300_000,
};

export const ADMIN_LIMITS: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 64 };

// Key uploads carry up to 1000 Kyber keys (about 2 KiB each in base64) per device.
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

export function createListener(name: string, limits: ConnectionLimits, log: Logger): FastifyInstance {
  // The request target is checked before the router sees it: fastify decodes the path before matching (`/%61dmin`
  // is `/admin` to it), so anything not already in normal form is refused there.
  const refuse = (req: IncomingMessage, res: ServerResponse, reason: string) => {
    log.warn({ listener: name, method: req.method, reason }, "refused a request target that is not in normal form");
    res.writeHead(400, { "content-type": "application/json; charset=utf-8", connection: "close" });
    res.end(JSON.stringify(new HttpError(400, "INVALID", `bad request target: ${reason}`).toBody()));
  };
  const app = Fastify({
    bodyLimit: JSON_BODY_LIMIT,
    logger: false,
    ...fastifyServerLimits(limits),
    // The interop API carries URIs with slashes in one path segment (docs/interop-transport.md §1).
    serverFactory: guardedServerFactory(refuse, limits, { allowEncodedSlash: true }),
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
