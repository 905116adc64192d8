// The gatekeeper's two HTTP listeners. The public one serves the interop endpoint (/v1) and a health probe; the
// admin API has a listener of its own, bound to loopback only, so no path trick on the public port can reach it.
import websocket from "@fastify/websocket";
import type { FastifyInstance } from "fastify";
import { MAX_FRAME_BYTES } from "../protocol/limits.js";
import { ensureAdminToken, writeAdminUrl } from "./admin-token.js";
import { Gatekeeper, type GatekeeperOptions } from "./gatekeeper.js";
import type { ConnectionLimits } from "../util/http-hardening.js";
import { ADMIN_LIMITS, createListener, listeningUrl, PUBLIC_LIMITS } from "./listener.js";
import { isLoopbackHost } from "./loopback.js";
import { registerAdminRoutes } from "./routes-admin.js";
import { registerV1Routes } from "./routes-v1.js";

export interface ServeOptions extends GatekeeperOptions {
  host: string;
  port: number;
  /** Loopback address of the admin API (default 127.0.0.1); anything else is refused. */
  adminHost?: string;
  /** Admin API port (default 0: any free port; see `adminUrl`). */
  adminPort?: number;
  /** The base URL providers reach the interop endpoint at, which is the audience their tokens must name (default:
   * the URL the public listener is bound to). Set it when a proxy sits in front. */
  publicUrl?: string;
  limits?: Partial<ConnectionLimits>;
  adminLimits?: Partial<ConnectionLimits>;
}

export interface RunningGatekeeper {
  gatekeeper: Gatekeeper;
  app: FastifyInstance;
  adminApp: FastifyInstance;
  /** The interop endpoint, http://host:port with the port actually bound. */
  url: string;
  /** The admin API on loopback, http://127.0.0.1:port. */
  adminUrl: string;
  /** What provider tokens must carry as `aud`. */
  audience: string;
  adminToken: string;
  close(): Promise<void>;
}

export async function startGatekeeper(options: ServeOptions): Promise<RunningGatekeeper> {
  const adminHost = options.adminHost ?? "127.0.0.1";
  if (!isLoopbackHost(adminHost)) throw new Error(`the admin API listens on loopback only; ${adminHost} is not a loopback address`);
  const gatekeeper = new Gatekeeper(options);
  const log = gatekeeper.log;
  const adminToken = ensureAdminToken(options.dataDir);

  const app = createListener("interop", { ...PUBLIC_LIMITS, ...options.limits }, log);
  await app.register(websocket, { options: { maxPayload: MAX_FRAME_BYTES } });
  await registerV1Routes(app, gatekeeper);

  const adminApp = createListener("admin", { ...ADMIN_LIMITS, ...options.adminLimits }, log);
  await registerAdminRoutes(adminApp, gatekeeper, adminToken);

  try {
    await app.listen({ host: options.host, port: options.port });
    await adminApp.listen({ host: adminHost, port: options.adminPort ?? 0 });
  } catch (err) {
    await Promise.allSettled([app.close(), adminApp.close()]);
    await gatekeeper.close();
    throw err;
  }
  const url = listeningUrl(app, options.host);
  const adminUrl = listeningUrl(adminApp, adminHost);
  gatekeeper.tokens.setPublicUrl(options.publicUrl ?? url);
  writeAdminUrl(options.dataDir, adminUrl);
  gatekeeper.start();
  log.info({ url, adminUrl, audience: gatekeeper.tokens.expectedAudience }, "gatekeeper listening");
  return {
    gatekeeper,
    app,
    adminApp,
    url,
    adminUrl,
    audience: gatekeeper.tokens.expectedAudience!,
    adminToken,
    close: async () => {
      gatekeeper.hub.closeAll(1001, "gatekeeper shutting down");
      await Promise.all([app.close(), adminApp.close()]);
      await gatekeeper.close();
    },
  };
}
