// The client's retry and error handling against a small local HTTP server that plays a misbehaving homeserver
// over a real socket: rate limits, 5xx, dropped connections and unusable answers are hard to provoke in Synapse.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { MatrixClient } from "../../src/matrix/client.js";
import { isTransientMatrixError, MatrixApiError, MatrixConnectionError, MatrixResponseError } from "../../src/matrix/errors.js";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, retryAfterFrom } from "../../src/matrix/retry.js";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

class FakeHomeserver {
  seen: Seen[] = [];
  handler: Handler = (_req, res) => json(res, 200, {});
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        this.seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, body, at: Date.now() });
        this.handler(req, res, this.seen.length);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

const fastRetry = { baseDelayMs: 5, maxDelayMs: 20, maxAttempts: 4, maxRetryAfterMs: 1_000 };

describe("matrix client: retries and errors", () => {
  let hs: FakeHomeserver;
  let url: string;
  let client: MatrixClient;

  beforeEach(async () => {
    hs = new FakeHomeserver();
    url = await hs.start();
    client = new MatrixClient({ homeserverUrl: url, asToken: "as-secret", retry: fastRetry });
  });

  afterEach(async () => {
    await hs.stop();
  });

  it("authenticates as the appservice and masquerades with user_id and device_id", async () => {
    hs.handler = (_req, res) => json(res, 200, { event_id: "$ev1" });
    const eventId = await client.as("@wa_1:localhost", "PUPPETDEV").sendEvent("!r:localhost", "m.room.message", { body: "x" }, "txn/1");
    assert.equal(eventId, "$ev1");
    const [req] = hs.seen;
    assert.equal(req?.method, "PUT");
    assert.equal(req?.authorization, "Bearer as-secret");
    const parsed = new URL(req!.url, url);
    assert.equal(parsed.pathname, "/_matrix/client/v3/rooms/!r%3Alocalhost/send/m.room.message/txn%2F1");
    assert.equal(parsed.searchParams.get("user_id"), "@wa_1:localhost");
    assert.equal(parsed.searchParams.get("device_id"), "PUPPETDEV");
    assert.deepEqual(JSON.parse(req!.body), { body: "x" });
  });

  it("waits retry_after_ms on 429 and then succeeds", async () => {
    hs.handler = (_req, res, attempt) =>
      attempt === 1 ? json(res, 429, { errcode: "M_LIMIT_EXCEEDED", error: "slow down", retry_after_ms: 300 }) : json(res, 200, { room_id: "!new:localhost" });
    // A POST: rate limiting means the homeserver did nothing, so even non-idempotent requests are repeated.
    const roomId = await client.as("@wa_1:localhost").createRoom({ preset: "private_chat" });
    assert.equal(roomId, "!new:localhost");
    assert.equal(hs.seen.length, 2);
    const waited = hs.seen[1]!.at - hs.seen[0]!.at;
    assert.ok(waited >= 290, `waited only ${waited} ms`);
  });

  it("honours the Retry-After header when the body has no retry_after_ms", async () => {
    hs.handler = (_req, res, attempt) =>
      attempt === 1 ? json(res, 429, { errcode: "M_LIMIT_EXCEEDED", error: "slow down" }, { "retry-after": "1" }) : json(res, 200, {});
    await client.request("GET", "/_matrix/client/v3/x");
    assert.ok(hs.seen[1]!.at - hs.seen[0]!.at >= 990);
  });

  it("hands a long rate limit to the caller instead of waiting", async () => {
    hs.handler = (_req, res) => json(res, 429, { errcode: "M_LIMIT_EXCEEDED", error: "much slower", retry_after_ms: 600_000 });
    const error = await client.request("GET", "/_matrix/client/v3/x").catch((e: unknown) => e);
    assert.ok(error instanceof MatrixApiError);
    assert.equal(error.status, 429);
    assert.equal(error.errcode, "M_LIMIT_EXCEEDED");
    assert.equal(error.retryAfterMs, 600_000);
    assert.ok(isTransientMatrixError(error));
    assert.equal(hs.seen.length, 1);
  });

  it("retries 5xx for idempotent requests with growing delays, up to maxAttempts", async () => {
    hs.handler = (_req, res) => json(res, 502, { errcode: "M_UNKNOWN", error: "bad gateway" });
    const error = await client.request("PUT", "/_matrix/client/v3/x", { body: {} }).catch((e: unknown) => e);
    assert.ok(error instanceof MatrixApiError);
    assert.equal(error.status, 502);
    assert.equal(hs.seen.length, fastRetry.maxAttempts);
  });

  it("recovers when a 5xx is followed by success", async () => {
    hs.handler = (_req, res, attempt) => (attempt < 3 ? json(res, 503, {}) : json(res, 200, { ok: 1 }));
    assert.deepEqual(await client.request("GET", "/_matrix/client/v3/x"), { ok: 1 });
    assert.equal(hs.seen.length, 3);
  });

  it("does not repeat a non-idempotent POST after a 5xx", async () => {
    hs.handler = (_req, res) => json(res, 500, { errcode: "M_UNKNOWN", error: "boom" });
    const error = await client.as("@wa_1:localhost").createRoom({}).catch((e: unknown) => e);
    assert.ok(error instanceof MatrixApiError);
    assert.equal(error.status, 500);
    assert.equal(hs.seen.length, 1);
  });

  it("throws client errors at once, with the Matrix error fields", async () => {
    hs.handler = (_req, res) => json(res, 403, { errcode: "M_FORBIDDEN", error: "You are not invited to this room." });
    const error = await client.as("@wa_1:localhost").join("!r:localhost").catch((e: unknown) => e);
    assert.ok(error instanceof MatrixApiError);
    assert.equal(error.status, 403);
    assert.equal(error.errcode, "M_FORBIDDEN");
    assert.equal(error.error, "You are not invited to this room.");
    assert.equal(error.path, "/_matrix/client/v3/join/!r%3Alocalhost");
    assert.equal(isTransientMatrixError(error), false);
    assert.equal(hs.seen.length, 1);
  });

  it("reports a non-JSON error page as M_UNKNOWN with the status", async () => {
    hs.handler = (_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<h1>not here</h1>");
    };
    const error = await client.request("GET", "/_matrix/client/v3/x").catch((e: unknown) => e);
    assert.ok(error instanceof MatrixApiError);
    assert.equal(error.status, 404);
    assert.equal(error.errcode, "M_UNKNOWN");
  });

  it("retries dropped connections for idempotent requests", async () => {
    hs.handler = (req, res, attempt) => (attempt === 1 ? req.socket.destroy() : json(res, 200, { event_id: "$e" }));
    const eventId = await client.as("@wa_1:localhost").sendEvent("!r:localhost", "m.room.message", {}, "t1");
    assert.equal(eventId, "$e");
    assert.equal(hs.seen.length, 2);
  });

  it("does not repeat a POST whose connection dropped after it was sent", async () => {
    hs.handler = (req) => req.socket.destroy();
    const error = await client.as("@wa_1:localhost").createRoom({}).catch((e: unknown) => e);
    assert.ok(error instanceof MatrixConnectionError, String(error));
    assert.ok(isTransientMatrixError(error));
    assert.equal(hs.seen.length, 1);
  });

  it("retries even a POST when the connection is refused (nothing was sent)", async () => {
    await hs.stop();
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    const refused = new MatrixClient({ homeserverUrl: url, asToken: "t", logger, retry: { ...fastRetry, maxAttempts: 3 } });
    const error = await refused.as("@wa_1:localhost").createRoom({}).catch((e: unknown) => e);
    assert.ok(error instanceof MatrixConnectionError);
    assert.match(error.message, /ECONNREFUSED/);
    assert.equal(warnings.filter((line) => line.includes("homeserver unreachable")).length, 2, "two retries after the first attempt");
  });

  it("gives up on a silent homeserver after the timeout", async () => {
    hs.handler = () => undefined; // never answers
    const slow = new MatrixClient({ homeserverUrl: url, asToken: "t", requestTimeoutMs: 100, retry: { ...fastRetry, maxAttempts: 2 } });
    const error = await slow.request("GET", "/_matrix/client/v3/x").catch((e: unknown) => e);
    assert.ok(error instanceof MatrixConnectionError);
    assert.match(error.message, /no answer within 100 ms/);
    assert.equal(hs.seen.length, 2);
  });

  it("stops waiting when the caller aborts", async () => {
    hs.handler = (_req, res) => json(res, 429, { errcode: "M_LIMIT_EXCEEDED", error: "x", retry_after_ms: 900 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 100);
    const started = Date.now();
    const error = await client.request("GET", "/_matrix/client/v3/x", { signal: controller.signal }).catch((e: unknown) => e);
    assert.equal((error as Error).message, "shutting down");
    assert.ok(Date.now() - started < 800);
  });

  it("rejects answers without a valid ID", async () => {
    hs.handler = (_req, res) => json(res, 200, { room_id: "not-a-room" });
    await assert.rejects(client.as("@wa_1:localhost").createRoom({}), (e: unknown) => e instanceof MatrixResponseError && /room_id/.test(e.message));
    hs.handler = (_req, res) => json(res, 200, { event_id: 42 });
    await assert.rejects(client.as("@wa_1:localhost").sendEvent("!r:x", "m.room.message", {}, "t"), MatrixResponseError);
    hs.handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>");
    };
    await assert.rejects(client.request("GET", "/_matrix/client/v3/x"), /body is not JSON/);
  });

  it("checks IDs from the caller before sending anything", async () => {
    const intent = client.as("@wa_1:localhost");
    await assert.rejects(intent.sendEvent("#alias:localhost", "m.room.message", {}, "t"), /not a valid Matrix room ID/);
    await assert.rejects(intent.invite("!r:localhost", "bob"), /not a valid Matrix user ID/);
    await assert.rejects(intent.sendEvent("!r:localhost", "m.room.message", {}, ""), /transaction ID must not be empty/);
    assert.throws(() => client.as("wa_1"), /not a valid Matrix user ID/);
    assert.equal(hs.seen.length, 0);
  });

  it("treats M_USER_IN_USE as already registered and remembers registrations", async () => {
    hs.handler = (_req, res) => json(res, 400, { errcode: "M_USER_IN_USE", error: "User ID already taken." });
    assert.equal(await client.as("@wa_7:localhost").ensureRegistered(), "already-registered");
    assert.equal(await client.as("@wa_7:localhost").ensureRegistered(), "already-registered");
    assert.equal(hs.seen.length, 1, "second call answered from memory");
    const body = JSON.parse(hs.seen[0]!.body) as Record<string, unknown>;
    assert.deepEqual(body, { type: "m.login.application_service", username: "wa_7", inhibit_login: true });
    assert.equal(new URL(hs.seen[0]!.url, url).searchParams.has("user_id"), false);
  });
});

describe("retry policy helpers", () => {
  it("grows the backoff exponentially within bounds", async () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1_000 };
    assert.equal(backoffDelayMs(policy, 0, () => 0), 50);
    assert.equal(backoffDelayMs(policy, 0, () => 1), 100);
    assert.equal(backoffDelayMs(policy, 2, () => 1), 400);
    assert.equal(backoffDelayMs(policy, 10, () => 1), 1_000);
    assert.equal(backoffDelayMs(policy, 10, () => 0), 500);
  });

  it("reads wait times from bodies and headers", async () => {
    assert.equal(retryAfterFrom({ retry_after_ms: 1234 }, "9"), 1234);
    assert.equal(retryAfterFrom({}, "2"), 2000);
    assert.equal(retryAfterFrom({}, ""), undefined);
    assert.equal(retryAfterFrom({ retry_after_ms: "soon" }, null), undefined);
  });
});
