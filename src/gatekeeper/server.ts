// The gatekeeper's HTTP server: the interop endpoint (/v1) and the admin API (/admin) on one port.
import websocket from "@fastify/websocket";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { MAX_FRAME_BYTES } from "../protocol/limits.js";
import { ensureAdminToken } from "./admin-token.js";
import { Gatekeeper, type GatekeeperOptions } from "./gatekeeper.js";
import { HttpError } from "./http-error.js";
import { registerAdminRoutes } from "./routes-admin.js";
import { registerV1Routes } from "./routes-v1.js";

export interface ServeOptions extends GatekeeperOptions {
  host: string;
  port: number;
}

export interface RunningGatekeeper {
  gatekeeper: Gatekeeper;
  app: FastifyInstance;
  /** http://host:port with the port actually bound (useful with port 0). */
  url: string;
  adminToken: string;
  close(): Promise<void>;
}

// Key uploads carry up to 1000 Kyber keys (about 2 KiB each in base64) per device.
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

export async function startGatekeeper(options: ServeOptions): Promise<RunningGatekeeper> {
  const gatekeeper = new Gatekeeper(options);
  const adminToken = ensureAdminToken(options.dataDir);
  const app = Fastify({ bodyLimit: JSON_BODY_LIMIT, logger: false });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    // After a refused upload the rest of the body may still be on the way: close instead of reading it.
    if (err instanceof HttpError && err.status === 413) reply.header("connection", "close");
    if (err instanceof HttpError) return reply.code(err.status).send(err.toBody());
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") return reply.code(413).header("connection", "close").send({ errcode: "TOO_LARGE", error: err.message });
    if (err.validation || err.code?.startsWith("FST_ERR_CTP") || (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500)) {
      return reply.code(err.statusCode ?? 400).send({ errcode: "INVALID", error: err.message });
    }
    gatekeeper.log.error({ err, url: request.routeOptions.url }, "request failed");
    return reply.code(500).send({ errcode: "INTERNAL", error: "internal error" });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ errcode: "NOT_FOUND", error: `no route ${request.method} ${request.url.split("?")[0]}` }));

  // Unauthenticated liveness probe for containers and scripts; says nothing about the gatekeeper's state.
  app.get("/health", async () => ({ ok: true }));
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  await registerV1Routes(app, gatekeeper);
  await registerAdminRoutes(app, gatekeeper, adminToken);

  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (err) {
    await gatekeeper.close();
    throw err;
  }
  gatekeeper.start();
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    gatekeeper,
    app,
    url: `http://${host}:${port}`,
    adminToken,
    close: async () => {
      gatekeeper.hub.closeAll(1001, "gatekeeper shutting down");
      await app.close();
      await gatekeeper.close();
    },
  };
}
