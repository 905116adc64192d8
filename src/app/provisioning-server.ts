// The provisioning API (docs/provisioning.md): HTTP for integrations and client UIs, in the shape of mautrix's
// /_matrix/provision/v3 where it fits. Every request carries the shared secret (Authorization: Bearer) and names the
// Matrix user it acts for (?user_id=), who must be allowed to use the bridge. Errors are JSON with an errcode.
import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { LimitError } from "../core/limit-error.js";
import { InputError, RemoteError, type RemoteFailureReason, type RemoteNetwork } from "../core/ports.js";
import type { ProvisioningService, ResolvedContact } from "../core/provisioning.js";
import { DEFAULT_CONNECTION_LIMITS, guardedServerFactory } from "../util/http-hardening.js";

export const PROVISION_PREFIX = "/_matrix/provision/v3";

export interface ProvisioningServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface ProvisioningOptions {
  readonly listen: { host: string; port: number };
  readonly sharedSecret: string;
  readonly service: ProvisioningService;
  readonly network: Pick<RemoteNetwork, "networkName" | "lookup" | "status">;
  readonly safetyNumbers: (userId: string, contact: string, devices: readonly number[]) => Promise<{ deviceId: number; digits: string | null }[]>;
  readonly managementRoom: (userId: string) => Promise<string | null>;
  readonly log: Logger;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
  ) {
    super(message);
  }
}

const USER_ID = /^@[^\s:]+:\S+$/;

/** How a network refusal is answered: the reasons are the core's, the codes stable for clients. */
const REMOTE_ERRORS: Record<RemoteFailureReason, { status: number; errcode: string }> = {
  unknown_user: { status: 404, errcode: "M_NOT_FOUND" },
  not_opted_in: { status: 403, errcode: "DMA_NOT_OPTED_IN" },
  blocked: { status: 403, errcode: "DMA_BLOCKED" },
  rate_limited: { status: 429, errcode: "M_LIMIT_EXCEEDED" },
  invalid: { status: 400, errcode: "M_INVALID_PARAM" },
  unreachable: { status: 502, errcode: "DMA_UNREACHABLE" },
  internal: { status: 500, errcode: "M_UNKNOWN" },
};

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function contactJson(r: ResolvedContact) {
  return { id: r.key, name: r.name ?? null, identifiers: [r.contact], mxid: r.puppet, dm_room_mxid: r.roomId };
}

export async function startProvisioningServer(o: ProvisioningOptions): Promise<ProvisioningServer> {
  const secret = digest(o.sharedSecret);
  const app = Fastify({
    logger: false,
    serverFactory: guardedServerFactory((_req, res, reason) => {
      res.writeHead(400, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: `Unrecognized request target: ${reason}` }));
    }, { ...DEFAULT_CONNECTION_LIMITS, maxConnections: 64, requestTimeoutMs: 60_000 }),
    bodyLimit: 16 * 1024,
    routerOptions: { maxParamLength: 512 },
  });

  const send = (reply: FastifyReply, err: ApiError) => reply.code(err.status).send({ errcode: err.errcode, error: err.message });

  app.setErrorHandler((error: FastifyError | ApiError, req, reply) => {
    if (error instanceof ApiError) return send(reply, error);
    if (error instanceof InputError) return send(reply, new ApiError(400, "M_INVALID_PARAM", error.message));
    // The user's own bridge-side limit (bridge.limits): the message says when the next chat is possible.
    if (error instanceof LimitError) return send(reply, new ApiError(429, "M_LIMIT_EXCEEDED", error.message));
    if (error instanceof RemoteError) {
      const mapped = REMOTE_ERRORS[error.reason];
      if (mapped.status >= 500) o.log.warn({ err: error, route: req.routeOptions.url }, "provisioning request failed at the network");
      // The core's sentences for users do not quote internals; the reason is what a client needs.
      return send(reply, new ApiError(mapped.status, mapped.errcode, `the network refused: ${error.reason.replace(/_/g, " ")}`));
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status < 500) return send(reply, new ApiError(status, status === 413 ? "M_TOO_LARGE" : "M_BAD_JSON", error.message));
    o.log.error({ err: error, route: req.routeOptions.url }, "provisioning request failed");
    return send(reply, new ApiError(500, "M_UNKNOWN", "Internal error; the bridge admin can find it in the log"));
  });
  app.setNotFoundHandler((_req, reply) => send(reply, new ApiError(404, "M_UNRECOGNIZED", "Unrecognized request")));

  // Every route, the unknown ones included, needs the secret: nothing is answered to a caller without it.
  app.addHook("onRequest", async (req: FastifyRequest) => {
    const header = req.headers.authorization;
    if (!header || !header.startsWith("Bearer ")) throw new ApiError(401, "M_MISSING_TOKEN", "Missing the shared secret (Authorization: Bearer)");
    if (!timingSafeEqual(digest(header.slice("Bearer ".length)), secret)) {
      o.log.warn({ path: req.url.split("?", 1)[0] }, "provisioning request with a wrong shared secret");
      throw new ApiError(403, "M_UNKNOWN_TOKEN", "Wrong shared secret");
    }
    if (req.is404) return;
    const userId = (req.query as { user_id?: unknown }).user_id;
    if (typeof userId !== "string" || !USER_ID.test(userId)) throw new ApiError(400, "M_INVALID_PARAM", "user_id must name the Matrix user to act for (@name:server)");
    if (!o.service.allowed(userId)) throw new ApiError(403, "M_FORBIDDEN", `${userId} may not use this bridge`);
  });

  const user = (req: FastifyRequest) => (req.query as { user_id: string }).user_id;
  const contactOf = (req: FastifyRequest) => o.service.parse(decodeURIComponent((req.params as { identifier: string }).identifier));

  app.get(`${PROVISION_PREFIX}/whoami`, async (req) => {
    const status = await o.network.status();
    return { user_id: user(req), network: { displayname: o.network.networkName }, management_room: await o.managementRoom(user(req)), connected: status.connected };
  });

  app.get(`${PROVISION_PREFIX}/resolve_identifier/:identifier`, async (req) => contactJson(await o.service.resolve(user(req), contactOf(req))));

  app.post(`${PROVISION_PREFIX}/create_dm/:identifier`, async (req) => contactJson(await o.service.startChat(user(req), contactOf(req))));

  app.get(`${PROVISION_PREFIX}/chats`, async (req) => ({
    chats: (await o.service.chats(user(req))).map((c) => ({ id: c.key, identifier: c.contact, name: c.name, mxid: c.puppet, room_id: c.roomId, encrypted: c.encrypted, blocked: c.blocked })),
  }));

  app.delete(`${PROVISION_PREFIX}/chats/:identifier`, async (req) => {
    if (!(await o.service.deletePortal(user(req), contactOf(req)))) throw new ApiError(404, "M_NOT_FOUND", "No chat with this contact");
    return {};
  });

  for (const [path, blocked] of [["block", true], ["unblock", false]] as const) {
    app.post(`${PROVISION_PREFIX}/${path}/:identifier`, async (req) => {
      const contact = contactOf(req);
      await o.service.setBlocked(user(req), contact, blocked);
      return { identifier: contact, blocked: await o.service.isBlocked(user(req), contact) };
    });
  }

  app.get(`${PROVISION_PREFIX}/safety_number/:identifier`, async (req) => {
    const contact = contactOf(req);
    const profile = await o.network.lookup(user(req), contact);
    const numbers = await o.safetyNumbers(user(req), contact, profile.devices);
    return { identifier: contact, devices: numbers.map((n) => ({ device_id: n.deviceId, safety_number: n.digits })) };
  });

  await app.listen({ host: o.listen.host, port: o.listen.port });
  const port = (app.server.address() as AddressInfo).port;
  o.log.info({ host: o.listen.host, port }, "provisioning API listening");
  return { port, close: () => app.close() };
}
