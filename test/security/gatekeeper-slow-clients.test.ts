// Slow and numerous clients against both of the gatekeeper's listeners (startGatekeeper over real loopback sockets,
// with short deadlines so the test is quick): connections that trickle their headers or body, or sit idle, are
// closed by the deadlines; connections beyond the cap are refused at once; honest clients are served afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startGatekeeper, type RunningGatekeeper } from "../../src/gatekeeper/server.js";
import { rawRequest } from "./gatekeeper-raw.js";

const LIMITS = { headersTimeoutMs: 1000, requestTimeoutMs: 2000, keepAliveTimeoutMs: 1000, maxConnections: 100 };
// Node checks the deadlines on a timer; the listener sets it to a quarter of the shortest deadline.
const CHECK_INTERVAL_MS = 250;
const portOf = (url: string) => Number(new URL(url).port);

interface Trickler {
  closedAfterMs: Promise<number>;
  socket: Socket;
}

/** A connection that sends `prefix`, then one more byte of `drip` every `everyMs`, until the server closes it. */
function trickle(port: number, prefix: string, drip: string, everyMs: number): Trickler {
  const started = Date.now();
  const socket = connect({ host: "127.0.0.1", port });
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.on("connect", () => {
    if (prefix) socket.write(prefix);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(drip[i++ % drip.length]!);
    }, everyMs);
  });
  socket.on("data", () => undefined);
  socket.on("error", () => undefined);
  const closedAfterMs = new Promise<number>((resolve) =>
    socket.on("close", () => {
      clearInterval(timer);
      resolve(Date.now() - started);
    }),
  );
  return { closedAfterMs, socket };
}

describe("gatekeeper: slow and numerous clients", function () {
  this.timeout(60_000);
  let gk: RunningGatekeeper;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gk-slow-"));
    gk = await startGatekeeper({ host: "127.0.0.1", port: 0, dataDir: dir, log: pino({ level: "silent" }), limits: LIMITS, adminLimits: { ...LIMITS, maxConnections: 20 } });
  });

  after(async () => {
    await gk?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, cap, port] of [
    ["interop", 100, () => portOf(gk.url)],
    ["admin", 20, () => portOf(gk.adminUrl)],
  ] as const) {
    it(`${name} listener: closes 220 header-tricklers by the header deadline and refuses those over the cap of ${cap}`, async () => {
      const started = Date.now();
      const clients: Trickler[] = [];
      for (let i = 0; i < 220; i++) clients.push(trickle(port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", "abcdefgh", 100));
      const closed = await Promise.all(clients.map((c) => c.closedAfterMs));
      const totalMs = Date.now() - started;
      const atOnce = closed.filter((ms) => ms < LIMITS.headersTimeoutMs / 2).length;
      const byDeadline = closed.filter((ms) => ms >= LIMITS.headersTimeoutMs / 2).length;
      console.log(`      ${name}: ${atOnce} refused at once, ${byDeadline} closed by the deadline, all gone after ${totalMs} ms (max ${Math.max(...closed)} ms)`);
      assert.ok(byDeadline <= cap, `at most the cap held open: ${byDeadline}`);
      assert.ok(atOnce >= 220 - cap, `the rest refused at once: ${atOnce}`);
      // Header deadline plus one check interval, plus slack for a loaded machine.
      assert.ok(Math.max(...closed) < LIMITS.headersTimeoutMs + CHECK_INTERVAL_MS + 2000, `all closed in time: ${Math.max(...closed)} ms`);
      // And the listener still serves.
      const health = await rawRequest(port(), "GET", name === "interop" ? "/health" : "/admin/providers", { headers: { authorization: `Bearer ${gk.adminToken}` } });
      assert.equal(health.status, 200);
    });
  }

  it("closes a connection that sends nothing, one that trickles its body, and an idle keep-alive one", async () => {
    const port = portOf(gk.url);
    const silent = trickle(port, "", "", 1_000_000);
    const body = trickle(port, "POST /v1/media HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n", "x", 100);
    const idle = trickle(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", "", 1_000_000);
    const [silentMs, bodyMs, idleMs] = await Promise.all([silent.closedAfterMs, body.closedAfterMs, idle.closedAfterMs]);
    console.log(`      silent closed after ${silentMs} ms, body trickler after ${bodyMs} ms, idle keep-alive after ${idleMs} ms`);
    const slack = CHECK_INTERVAL_MS + 2000;
    assert.ok(silentMs < LIMITS.headersTimeoutMs + slack, `silent: ${silentMs}`);
    assert.ok(bodyMs < LIMITS.requestTimeoutMs + slack, `body: ${bodyMs}`);
    assert.ok(idleMs < LIMITS.keepAliveTimeoutMs + slack, `idle: ${idleMs}`);
  });
});
