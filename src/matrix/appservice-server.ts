/**
 * The appservice endpoint: the HTTP server the homeserver pushes transactions to and asks about users and aliases.
 *
 * Written on fastify rather than taken from matrix-appservice because that handler answers the homeserver before the
 * transaction is processed (a crash then loses it) and drops to-device and device-list data, which E2EE needs.
 * Here a transaction is acknowledged only after the sink reports it durably queued.
 */
import { redactDigits } from "../log.js";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { DEFAULT_CONNECTION_LIMITS, guardedServerFactory, type ConnectionLimits } from "../util/http-hardening.js";
import { HomeserverTokenChecker } from "./appservice-auth.js";
import { isUserId } from "./ids.js";
import { InvalidTransactionError, parseTransaction, type AppserviceTransaction } from "./transaction.js";

/** Where accepted transactions go; implemented on the store. */
export interface TransactionSink {
  /**
   * Queues the transaction durably and resolves only once that is done. Items received before must not be queued
   * again (homeservers resend a transaction whenever they did not see our answer), but a txnId seen before is no
   * proof of that: Synapse reuses IDs for new events after a restart. Throwing makes the endpoint answer 500, so the
   * homeserver sends the same transaction again later.
   */
  accept(txnId: string, txn: AppserviceTransaction): Promise<void>;
}

/**
 * Answers whether a user ID in the appservice's namespace exists (creating the puppet if it should).
 * The homeserver asks before it lets anyone invite or look up a user nobody has registered yet.
 */
export type UserQuery = (userId: string) => Promise<boolean>;

export interface AppserviceServerOptions {
  bindAddress: string;
  /** 0 picks a free port; the chosen one is on the returned server. */
  port: number;
  hsToken: string;
  sink: TransactionSink;
  queryUser: UserQuery;
  logger: Logger;
  /** Largest accepted request body. A full Synapse transaction (100 events of up to 64 KiB plus EDUs) fits easily. */
  bodyLimitBytes?: number;
  /** Deadlines and the connection cap; defaults suit a homeserver on the same host or network. */
  limits?: Partial<ConnectionLimits>;
  /** Answers GET /ready (unauthenticated, for orchestrators): 200 when ready, 503 otherwise, with the body given. */
  readiness?: () => Promise<{ ready: boolean; body: object }>;
}

export interface AppserviceServer {
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
/** Rejected items listed in one log line; the count says how many more there were. */
const LOGGED_REJECTIONS = 20;

/**
 * Route config of the few routes anyone may call. Authentication is decided by the route that matched, and every
 * route without this, the not-found one included, requires the homeserver token: a route added later is protected
 * unless someone decides otherwise, and how a path was spelled cannot matter.
 */
const UNAUTHENTICATED = { config: { unauthenticated: true } } as const;

function isUnauthenticatedRoute(req: FastifyRequest): boolean {
  return (req.routeOptions.config as { unauthenticated?: unknown } | undefined)?.unauthenticated === true && !req.is404;
}

/** The path of a request target for logs: never the query, which may carry the legacy `access_token`. */
function loggablePath(url: string | undefined): string {
  const path = (url ?? "").split("?", 1)[0] ?? "";
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

interface MatrixError {
  errcode: string;
  error: string;
}

function sendError(reply: FastifyReply, status: number, errcode: string, error: string): FastifyReply {
  return reply.code(status).send({ errcode, error } satisfies MatrixError);
}

/** Maps fastify's body-parsing failures to Matrix error codes; the messages describe the input, not our internals. */
function frameworkErrorToMatrix(error: FastifyError): { status: number; errcode: string; message: string } {
  const status = error.statusCode ?? 500;
  if (status >= 500) return { status: 500, errcode: "M_UNKNOWN", message: "Internal server error" };
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, errcode: "M_TOO_LARGE", message: error.message };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, errcode: "M_NOT_JSON", message: error.message };
    default:
      if (error instanceof SyntaxError) return { status: 400, errcode: "M_NOT_JSON", message: error.message };
      return { status, errcode: "M_UNKNOWN", message: error.message };
  }
}

export async function startAppserviceServer(options: AppserviceServerOptions): Promise<AppserviceServer> {
  const log = options.logger;
  const tokens = new HomeserverTokenChecker(options.hsToken);
  // Homeservers resend a transaction when our answer is late; both requests must wait for the same acceptance.
  const inFlight = new Map<string, Promise<void>>();

  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };

  // A target that is not already normal would be decoded and normalised by the router and so could reach a route
  // under another spelling; it is refused before routing.
  const refuseTarget = (req: IncomingMessage, res: ServerResponse, reason: string): void => {
    log.warn({ method: req.method, path: loggablePath(req.url), reason }, "refused appservice request: request target is not a normal path");
    res.writeHead(400, { "content-type": "application/json; charset=utf-8" });
    res.end(JSON.stringify({ errcode: "M_UNRECOGNIZED", error: `Unrecognized request target: ${reason}` } satisfies MatrixError));
  };

  // fastify's own request logging would write URLs, which carry the legacy `access_token` parameter; we log ourselves.
  const app = Fastify({
    logger: false,
    serverFactory: guardedServerFactory(refuseTarget, limits),
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    // User IDs in paths may be up to 255 bytes, percent-encoded up to three times that.
    routerOptions: { maxParamLength: 1024 },
  });

  // The spec does not require a Content-Type on JSON bodies, so every body is parsed as JSON, with fastify's
  // prototype-poisoning checks.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, parseJson);

  app.setErrorHandler((error: FastifyError, req, reply) => {
    const mapped = frameworkErrorToMatrix(error);
    if (mapped.status >= 500) log.error({ err: error, method: req.method, route: req.routeOptions.url }, "appservice request failed");
    else log.warn({ method: req.method, route: req.routeOptions.url, reason: error.message }, "bad appservice request");
    return sendError(reply, mapped.status, mapped.errcode, mapped.message);
  });

  app.setNotFoundHandler((_req, reply) => sendError(reply, 404, "M_UNRECOGNIZED", "Unrecognized request"));

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    if (isUnauthenticatedRoute(req)) return;
    const query = req.query as Record<string, unknown> | undefined;
    const result = tokens.check(req.headers.authorization, query?.access_token);
    if (!result.ok) {
      log.warn(
        { method: req.method, route: req.routeOptions.url, path: loggablePath(req.url), status: result.status },
        "rejected appservice request: bad homeserver token",
      );
      return sendError(reply, result.status, result.errcode, result.error);
    }
  });

  app.put<{ Params: { txnId: string } }>("/_matrix/app/v1/transactions/:txnId", async (req, reply) => {
    const { txnId } = req.params;
    let txn: AppserviceTransaction;
    try {
      txn = parseTransaction(req.body);
    } catch (error) {
      if (!(error instanceof InvalidTransactionError)) throw error;
      log.error({ txnId, reason: error.message }, "homeserver sent a malformed transaction");
      return sendError(reply, 400, "M_BAD_JSON", error.message);
    }
    if (txn.rejected.length > 0) {
      log.warn(
        { txnId, rejected: txn.rejected.slice(0, LOGGED_REJECTIONS), rejectedCount: txn.rejected.length },
        "dropped malformed items from transaction",
      );
    }

    let acceptance = inFlight.get(txnId);
    if (!acceptance) {
      acceptance = options.sink.accept(txnId, txn);
      inFlight.set(txnId, acceptance);
      const forget = (): void => void inFlight.delete(txnId);
      acceptance.then(forget, forget);
    }
    try {
      await acceptance;
    } catch (error) {
      log.error({ err: error, txnId }, "could not queue transaction; the homeserver will retry it");
      return sendError(reply, 500, "M_UNKNOWN", "Could not queue the transaction; retry later");
    }
    log.debug(
      { txnId, events: txn.events.length, ephemeral: txn.ephemeral.length, toDevice: txn.toDevice.length },
      "transaction queued",
    );
    return {};
  });

  app.get<{ Params: { userId: string } }>("/_matrix/app/v1/users/:userId", async (req, reply) => {
    const { userId } = req.params;
    if (!isUserId(userId)) return sendError(reply, 400, "M_INVALID_PARAM", "Not a valid user ID");
    let exists: boolean;
    try {
      exists = await options.queryUser(userId);
    } catch (error) {
      log.error({ err: error, userId: redactDigits(userId) }, "user query failed");
      return sendError(reply, 500, "M_UNKNOWN", "User query failed");
    }
    return exists ? {} : sendError(reply, 404, "M_NOT_FOUND", "No such user");
  });

  // No room aliases are bridged yet; the homeserver treats 404 as "does not exist".
  app.get("/_matrix/app/v1/rooms/:alias", async (_req, reply) => sendError(reply, 404, "M_NOT_FOUND", "No such room alias"));

  // MSC2659: the homeserver calls this when asked to check that it can reach us. Authenticated like the rest (the
  // spec says so), which is what makes a successful ping prove the tokens match.
  app.post("/_matrix/app/v1/ping", async (req) => {
    const body = req.body as { transaction_id?: unknown } | undefined;
    log.debug({ transactionId: body?.transaction_id }, "homeserver ping");
    return {};
  });

  // Liveness: the process runs and its event loop answers. Whether it can work is /ready.
  app.get("/health", UNAUTHENTICATED, async () => ({ status: "ok" }));

  app.get("/ready", UNAUTHENTICATED, async (_req, reply) => {
    if (!options.readiness) return { ready: true };
    const { ready, body } = await options.readiness();
    return reply.code(ready ? 200 : 503).send(body);
  });

  await app.listen({ host: options.bindAddress, port: options.port });
  const port = (app.server.address() as AddressInfo).port;
  log.info({ bindAddress: options.bindAddress, port }, "appservice endpoint listening");

  return {
    port,
    close: async () => {
      await app.close();
    },
  };
}
