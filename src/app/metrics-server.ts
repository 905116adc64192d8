// The metrics listener: GET /metrics in Prometheus' text format, on its own address (metrics.listen), hardened like
// every listener of the bridge (strict request targets, deadlines, a connection cap). Nothing else is served.
import Fastify from "fastify";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { DEFAULT_CONNECTION_LIMITS, guardedServerFactory } from "../util/http-hardening.js";
import type { BridgeMetrics } from "./metrics.js";

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A scraper needs few connections; more would only be someone else. */
const METRICS_LIMITS = { maxConnections: 16, requestTimeoutMs: 30_000 };

export async function startMetricsServer(metrics: BridgeMetrics, listen: { host: string; port: number }, log: Logger): Promise<MetricsServer> {
  const app = Fastify({
    logger: false,
    serverFactory: guardedServerFactory((_req, res, reason) => {
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      res.end(`bad request target: ${reason}\n`);
    }, { ...DEFAULT_CONNECTION_LIMITS, ...METRICS_LIMITS }),
    bodyLimit: 1024,
  });
  app.get("/metrics", async (_req, reply) => {
    try {
      const text = await metrics.scrape();
      return reply.type(metrics.registry.contentType).send(text);
    } catch (err) {
      log.warn({ err }, "collecting metrics failed");
      return reply.code(500).type("text/plain; charset=utf-8").send("collecting metrics failed\n");
    }
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).type("text/plain; charset=utf-8").send("not found; metrics are at /metrics\n"));
  await app.listen({ host: listen.host, port: listen.port });
  const port = (app.server.address() as AddressInfo).port;
  log.info({ host: listen.host, port }, "metrics listening");
  return { port, close: () => app.close() };
}
