// Slow and idle clients against the real appservice endpoint (real sockets on loopback): a client that trickles its
// headers, one that never sends a byte and one that trickles its body are all cut off by the deadlines, connections
// beyond the cap are refused, and a well-behaved request is still served meanwhile and afterwards.
import assert from "node:assert/strict";
import net from "node:net";
import { pino } from "pino";
import { startAppserviceServer, type AppserviceServer } from "../../src/matrix/appservice-server.js";
import type { ConnectionLimits } from "../../src/util/http-hardening.js";
import { rawRequest } from "./appservice-raw-http.js";

const HS_TOKEN = "hs-token-for-slow-clients";

interface Watched {
  socket: net.Socket;
  openedAt: number;
  /** When the server closed it, or undefined while open. */
  closedAfterMs: number | undefined;
  received: string;
  stop(): void;
}

function connect(port: number): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const w: Watched = { socket, openedAt: Date.now(), closedAfterMs: undefined, received: "", stop: () => {} };
    socket.on("data", (c: Buffer) => (w.received += c.toString("latin1")));
    // The server closing mid-write shows up as EPIPE/ECONNRESET here; the close is what is measured.
    socket.on("error", () => {});
    socket.on("close", () => {
      w.stop();
      w.closedAfterMs = Date.now() - w.openedAt;
    });
    socket.once("connect", () => resolve(w));
    socket.once("error", reject);
  });
}

/** A request whose headers arrive one byte per `everyMs`, forever. */
async function trickleHeaders(port: number, everyMs: number): Promise<Watched> {
  const w = await connect(port);
  w.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
  const timer = setInterval(() => w.socket.writable && w.socket.write("a"), everyMs);
  w.stop = () => clearInterval(timer);
  return w;
}

/** Complete, authenticated headers announcing a body that then arrives one byte per `everyMs`. */
async function trickleBody(port: number, everyMs: number): Promise<Watched> {
  const w = await connect(port);
  w.socket.write(
    `PUT /_matrix/app/v1/transactions/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${HS_TOKEN}\r\nContent-Length: 1000000\r\n\r\n{"events":[`,
  );
  const timer = setInterval(() => w.socket.writable && w.socket.write(" "), everyMs);
  w.stop = () => clearInterval(timer);
  return w;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function start(limits: Partial<ConnectionLimits>, accepted: string[] = []): Promise<AppserviceServer> {
  return startAppserviceServer({
    bindAddress: "127.0.0.1",
    port: 0,
    hsToken: HS_TOKEN,
    sink: { accept: async (txnId) => void accepted.push(txnId) },
    queryUser: async () => false,
    logger: pino({ level: "silent" }),
    limits,
  });
}

async function health(port: number): Promise<number> {
  return (await rawRequest(port, { method: "GET", target: "/health" }, 3000)).status;
}

describe("appservice endpoint against slow clients", function () {
  this.timeout(20_000);
  const open: Watched[] = [];
  let server: AppserviceServer | undefined;

  afterEach(async () => {
    for (const w of open.splice(0)) {
      w.stop();
      w.socket.destroy();
    }
    await server?.close();
    server = undefined;
  });

  it("closes trickling, silent and slow-body connections at the deadlines and keeps serving others", async () => {
    const headersTimeoutMs = 1000;
    const requestTimeoutMs = 2500;
    const accepted: string[] = [];
    server = await start({ headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs: 1000, maxConnections: 200 }, accepted);
    const port = server.port;

    const tricklers = await Promise.all(Array.from({ length: 100 }, () => trickleHeaders(port, 100)));
    const silent = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
    const slowBody = await Promise.all(Array.from({ length: 5 }, () => trickleBody(port, 100)));
    open.push(...tricklers, ...silent, ...slowBody);

    // While they hang on, an ordinary request is answered at once.
    const during = Date.now();
    assert.equal(await health(port), 200);
    assert.ok(Date.now() - during < 1000, "a normal request waited behind the slow ones");

    await until("the header deadline to close every trickler and silent client", () => [...tricklers, ...silent].every((w) => w.closedAfterMs !== undefined), 4 * headersTimeoutMs);
    await until("the request deadline to close the slow bodies", () => slowBody.every((w) => w.closedAfterMs !== undefined), 3 * requestTimeoutMs);

    // Cut off by the deadline, not early by something else, and within a checking interval or so of it.
    for (const w of [...tricklers, ...silent]) {
      assert.ok(w.closedAfterMs! >= headersTimeoutMs - 50, `closed after ${w.closedAfterMs} ms, before the header deadline`);
      assert.ok(w.closedAfterMs! <= headersTimeoutMs + 1000, `closed after ${w.closedAfterMs} ms`);
    }
    for (const w of tricklers) assert.match(w.received, /^HTTP\/1\.1 408 /);
    for (const w of slowBody) {
      assert.ok(w.closedAfterMs! >= requestTimeoutMs - 50 && w.closedAfterMs! <= requestTimeoutMs + 1500, `slow body closed after ${w.closedAfterMs} ms`);
    }
    assert.deepEqual(accepted, [], "a half-sent transaction was accepted");
    const worst = Math.max(...[...tricklers, ...silent].map((w) => w.closedAfterMs!));
    console.log(`      ${tricklers.length} tricklers and ${silent.length} silent clients closed by ${worst} ms (header deadline ${headersTimeoutMs} ms)`);

    assert.equal(await health(port), 200);
  });

  it("refuses connections beyond the cap and serves again once they are gone", async () => {
    const maxConnections = 20;
    server = await start({ headersTimeoutMs: 10_000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 5000, maxConnections });
    const port = server.port;

    const held = await Promise.all(Array.from({ length: maxConnections }, () => connect(port)));
    open.push(...held);
    // The server counts a connection once it has accepted it; give the accept loop a moment.
    await new Promise((r) => setTimeout(r, 200));

    const extra = await Promise.all(Array.from({ length: 5 }, () => connect(port)));
    open.push(...extra);
    await until("the server to drop the connections over the cap", () => extra.every((w) => w.closedAfterMs !== undefined), 2000);
    for (const w of extra) assert.equal(w.received, "", "a connection over the cap was answered");
    await assert.rejects(health(port), "a request over the cap was served");
    assert.ok(held.every((w) => w.closedAfterMs === undefined), "connections within the cap were closed");

    for (const w of held) w.socket.destroy();
    await until("the held connections to close", () => held.every((w) => w.closedAfterMs !== undefined), 2000);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await health(port), 200);
  });
});
