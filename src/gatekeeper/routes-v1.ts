// The provider-facing interop endpoint: directory, keys, media (HTTP) and the envelope WebSocket.
// Authentication is decided by the route that matched, never by the URL: every route needs a provider JWT (auth.ts)
// unless it declares `config: { auth: "none" }`; the WebSocket declares "connection" (a single-use token). See
// docs/interop-transport.md.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import type { Principal } from "./auth.js";
import type { Gatekeeper } from "./gatekeeper.js";
import { HttpError } from "./http-error.js";
import { CLOSE_TOKEN_EXPIRED } from "./provider-hub.js";
import { ProviderSocket } from "./provider-socket.js";
import { requireUri } from "./uris.js";
import { blockListToJson, reportReceiptToJson } from "../protocol/safety.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** "token" when absent: default deny. */
    auth?: RouteAuth;
  }
}

export type RouteAuth = "none" | "token" | "connection";
const ROUTE_AUTH = new Set<RouteAuth>(["none", "token", "connection"]);

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new HttpError(500, "INTERNAL", "route is missing authentication");
  return request.principal;
}

function providerOnly(request: FastifyRequest): Principal {
  const p = principalOf(request);
  if (p.kind !== "provider") throw new HttpError(403, "FORBIDDEN", "this endpoint needs a provider token (sub = provider id)");
  return p;
}

function deviceParam(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 127) throw new HttpError(400, "INVALID", "device must be an integer 1..127");
  return Number(value);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

export async function registerV1Routes(app: FastifyInstance, gk: Gatekeeper): Promise<void> {
  app.addHook("onRoute", (route) => {
    const auth = (route.config as { auth?: unknown } | undefined)?.auth;
    if (auth !== undefined && !ROUTE_AUTH.has(auth as RouteAuth)) throw new Error(`route ${route.url} declares unknown auth ${String(auth)}`);
  });
  app.addHook("onRequest", async (request) => {
    // Nothing matched: the not-found answer does nothing, and says only what any reader of the spec knows.
    if (request.is404) return;
    const auth = request.routeOptions.config.auth ?? "token";
    if (auth === "none") return;
    const context = `${request.method} ${request.routeOptions.url}`;
    request.principal = await gk.tokens.verify(request.headers.authorization, context, { singleUse: auth === "connection" });
  });

  // Unauthenticated liveness probe for containers and scripts; says nothing about the gatekeeper's state.
  app.get("/health", { config: { auth: "none" } }, async () => ({ ok: true }));

  app.get<{ Params: { uri: string } }>("/v1/directory/:uri", async (request) => gk.directoryEntry(providerOnly(request), requireUri(request.params.uri)));

  app.put<{ Params: { uri: string } }>("/v1/keys/:uri", async (request) => gk.uploadKeys(principalOf(request), requireUri(request.params.uri), request.body));

  app.get<{ Params: { uri: string }; Querystring: { device?: string } }>("/v1/keys/:uri", async (request) =>
    gk.fetchKeys(providerOnly(request), requireUri(request.params.uri), deviceParam(request.query.device)),
  );

  app.get<{ Params: { uri: string } }>("/v1/keys/:uri/count", async (request) => gk.keyCounts(principalOf(request), requireUri(request.params.uri)));

  // Safety (interop-protocol §7.5): a provider user's blocks, and reports. Changes need the user's own token.
  app.get<{ Params: { uri: string } }>("/v1/blocks/:uri", async (request) => blockListToJson(gk.blockList(principalOf(request), requireUri(request.params.uri))));

  app.put<{ Params: { uri: string; blocked: string } }>("/v1/blocks/:uri/:blocked", async (request) =>
    blockListToJson(gk.block(principalOf(request), requireUri(request.params.uri), requireUri(request.params.blocked))),
  );

  app.delete<{ Params: { uri: string; blocked: string } }>("/v1/blocks/:uri/:blocked", async (request) =>
    blockListToJson(gk.unblock(principalOf(request), requireUri(request.params.uri), requireUri(request.params.blocked))),
  );

  app.post("/v1/reports", async (request, reply) => reply.code(201).send(reportReceiptToJson(gk.report(principalOf(request), request.body))));

  // Media bodies are opaque bytes of any type: this scope streams them instead of parsing.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    scope.post("/v1/media", async (request, reply) => {
      const p = providerOnly(request);
      const declared = Number(request.headers["content-length"]);
      if (Number.isFinite(declared) && declared > gk.media.maxBytes) {
        throw new HttpError(413, "TOO_LARGE", `media larger than the limit of ${gk.media.maxBytes} bytes`);
      }
      const contentType = request.headers["content-type"] ?? "application/octet-stream";
      const info = await gk.media.save(request.raw, p.providerId, contentType.slice(0, 200));
      gk.log.info({ provider: p.providerId, size: info.size }, "media uploaded");
      return reply.code(201).send({ id: info.id });
    });
  });

  app.get<{ Params: { id: string } }>("/v1/media/:id", async (request, reply) => {
    providerOnly(request);
    const found = gk.media.open(request.params.id);
    if (!found) throw new HttpError(404, "NOT_FOUND", "no such media");
    return reply.header("content-type", found.info.contentType).header("content-length", String(found.info.size)).send(found.stream);
  });

  app.get("/v1/ws", { websocket: true, config: { auth: "connection" } }, (socket: WebSocket, request) => {
    const principal = request.principal;
    if (!principal || principal.kind !== "provider") {
      socket.close(4003, "the WebSocket needs a provider token");
      return;
    }
    const providerId = principal.providerId;
    const socketHandler = new ProviderSocket(providerId, socket, {
      providers: gk.providers,
      checker: gk.checker,
      inbox: gk.inbox,
      queue: gk.queue,
      refusals: gk.refusals,
      hub: gk.hub,
      log: gk.log,
      onAccepted: () => gk.sim.wake(),
    });
    // The connection is worth what its token is: at exp it ends, and the provider opens a new one with a new token.
    // Frames still arriving are not handled (their answers could not be sent); the provider sends them again.
    const expiry = setTimeout(() => {
      socketHandler.stop();
      gk.hub.disconnect(providerId, socket);
      gk.log.info({ provider: providerId }, "provider token expired; closing its connection");
      socket.close(CLOSE_TOKEN_EXPIRED, "token expired");
    }, Math.max(0, principal.expiresAt * 1000 - Date.now()));
    socket.on("message", (data: RawData, isBinary: boolean) => socketHandler.onMessage(toBytes(data), isBinary));
    socket.on("close", () => {
      clearTimeout(expiry);
      gk.hub.disconnect(providerId, socket);
      gk.log.info({ provider: providerId }, "provider disconnected");
    });
    socket.on("pong", (data: Buffer) => gk.hub.pong(providerId, socket, data));
    socket.on("error", (err) => gk.log.warn({ err, provider: providerId }, "provider socket error"));
    gk.log.info({ provider: providerId }, "provider connected");
    gk.hub.connect(providerId, socket);
    gk.providerConnected(providerId);
  });
}
