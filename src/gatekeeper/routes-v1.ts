// The provider-facing interop endpoint: directory, keys, media (HTTP) and the envelope WebSocket.
// Every route authenticates with a provider JWT (auth.ts); see docs/interop-transport.md.
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RawData, WebSocket } from "ws";
import type { Principal } from "./auth.js";
import type { Gatekeeper } from "./gatekeeper.js";
import { HttpError } from "./http-error.js";
import { ProviderSocket } from "./provider-socket.js";
import { requireUri } from "./uris.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

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
  app.addHook("onRequest", async (request) => {
    if (!request.url.startsWith("/v1/")) return;
    request.principal = await gk.tokens.verify(request.headers.authorization, `${request.method} ${request.routeOptions.url ?? request.url}`);
  });

  app.get<{ Params: { uri: string } }>("/v1/directory/:uri", async (request) => gk.directoryEntry(providerOnly(request), requireUri(request.params.uri)));

  app.put<{ Params: { uri: string } }>("/v1/keys/:uri", async (request) => gk.uploadKeys(principalOf(request), requireUri(request.params.uri), request.body));

  app.get<{ Params: { uri: string }; Querystring: { device?: string } }>("/v1/keys/:uri", async (request) =>
    gk.fetchKeys(providerOnly(request), requireUri(request.params.uri), deviceParam(request.query.device)),
  );

  app.get<{ Params: { uri: string } }>("/v1/keys/:uri/count", async (request) => gk.keyCounts(principalOf(request), requireUri(request.params.uri)));

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

  app.get("/v1/ws", { websocket: true }, (socket: WebSocket, request) => {
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
      hub: gk.hub,
      log: gk.log,
      onAccepted: () => gk.sim.wake(),
    });
    socket.on("message", (data: RawData, isBinary: boolean) => socketHandler.onMessage(toBytes(data), isBinary));
    socket.on("close", () => {
      gk.hub.disconnect(providerId, socket);
      gk.log.info({ provider: providerId }, "provider disconnected");
    });
    socket.on("error", (err) => gk.log.warn({ err, provider: providerId }, "provider socket error"));
    gk.log.info({ provider: providerId }, "provider connected");
    gk.hub.connect(providerId, socket);
    gk.providerConnected(providerId);
  });
}
