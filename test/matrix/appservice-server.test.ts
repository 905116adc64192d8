import assert from "node:assert/strict";
import { pino } from "pino";
import { startAppserviceServer, type AppserviceServer, type TransactionSink } from "../../src/matrix/appservice-server.js";
import type { AppserviceTransaction } from "../../src/matrix/transaction.js";

const HS_TOKEN = "hs-token-for-tests";
const quiet = pino({ level: "silent" });

const message = {
  event_id: "$abc",
  room_id: "!room:localhost",
  sender: "@alice:localhost",
  type: "m.room.message",
  origin_server_ts: 1700000000000,
  content: { msgtype: "m.text", body: "hi" },
};

/** A sink that records what it got and can be told to fail or to hold acceptance until released. */
class RecordingSink implements TransactionSink {
  accepted: Array<{ txnId: string; txn: AppserviceTransaction }> = [];
  calls = 0;
  failNext = 0;
  gate: Promise<void> | undefined;

  async accept(txnId: string, txn: AppserviceTransaction): Promise<void> {
    this.calls++;
    if (this.gate) await this.gate;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("disk full");
    }
    this.accepted.push({ txnId, txn });
  }
}

describe("appservice server", () => {
  let server: AppserviceServer;
  let sink: RecordingSink;
  const queried: string[] = [];
  let base: string;

  beforeEach(async () => {
    sink = new RecordingSink();
    queried.length = 0;
    server = await startAppserviceServer({
      bindAddress: "127.0.0.1",
      port: 0,
      hsToken: HS_TOKEN,
      sink,
      queryUser: async (userId) => {
        queried.push(userId);
        if (userId === "@wa_broken:localhost") throw new Error("store down");
        return userId.startsWith("@wa_");
      },
      logger: quiet,
    });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterEach(async () => {
    await server.close();
  });

  function put(txnId: string, body: unknown, auth: string | null = HS_TOKEN, extra: RequestInit = {}): Promise<Response> {
    return fetch(`${base}/_matrix/app/v1/transactions/${txnId}`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...(auth === null ? {} : { authorization: `Bearer ${auth}` }) },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...extra,
    });
  }

  it("hands a transaction to the sink and answers {} after it is queued", async () => {
    const res = await put("1", { events: [message], ephemeral: [{ type: "m.typing", room_id: "!room:localhost", content: { user_ids: [] } }] });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {});
    assert.equal(sink.accepted.length, 1);
    assert.equal(sink.accepted[0]?.txnId, "1");
    assert.equal(sink.accepted[0]?.txn.events[0]?.event_id, "$abc");
    assert.equal(sink.accepted[0]?.txn.ephemeral[0]?.type, "m.typing");
  });

  it("waits for the sink before answering", async () => {
    let release!: () => void;
    sink.gate = new Promise((resolve) => (release = resolve));
    let answered = false;
    const pending = put("2", { events: [message] }).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(answered, false, "answered before the sink resolved");
    release();
    assert.equal((await pending).status, 200);
  });

  it("shares one acceptance between concurrent deliveries of the same txnId", async () => {
    let release!: () => void;
    sink.gate = new Promise((resolve) => (release = resolve));
    const first = put("dup", { events: [message] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = put("dup", { events: [message] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    assert.deepEqual([(await first).status, (await second).status], [200, 200]);
    assert.equal(sink.calls, 1);
  });

  it("answers 500 when the sink fails, so the homeserver retries", async () => {
    sink.failNext = 1;
    const res = await put("3", { events: [message] });
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { errcode: string }).errcode, "M_UNKNOWN");
    const retry = await put("3", { events: [message] });
    assert.equal(retry.status, 200);
    assert.equal(sink.accepted.length, 1);
  });

  it("rejects a missing token with 401 and a wrong one with 403", async () => {
    const missing = await put("4", { events: [] }, null);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { errcode: string }).errcode, "M_UNAUTHORIZED");
    const wrong = await put("4", { events: [] }, "not-the-token");
    assert.equal(wrong.status, 403);
    assert.equal(((await wrong.json()) as { errcode: string }).errcode, "M_FORBIDDEN");
    const userQuery = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent("@wa_1:localhost")}`);
    assert.equal(userQuery.status, 401);
    assert.equal(sink.calls, 0);
    assert.deepEqual(queried, []);
  });

  it("accepts the legacy access_token query parameter", async () => {
    const res = await fetch(`${base}/_matrix/app/v1/transactions/5?access_token=${HS_TOKEN}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: [] }),
    });
    assert.equal(res.status, 200);
    const bad = await fetch(`${base}/_matrix/app/v1/transactions/5?access_token=nope`, { method: "PUT", body: "{}" });
    assert.equal(bad.status, 403);
  });

  it("answers malformed bodies with Matrix errors and queues nothing", async () => {
    const notJson = await put("6", "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(((await notJson.json()) as { errcode: string }).errcode, "M_NOT_JSON");
    const noEvents = await put("6", { ephemeral: [] });
    assert.equal(noEvents.status, 400);
    assert.deepEqual(await noEvents.json(), { errcode: "M_BAD_JSON", error: '"events" is required' });
    const poisoned = await put("6", '{"events": [], "__proto__": {"polluted": true}}');
    assert.equal(poisoned.status, 400);
    assert.equal(((await poisoned.json()) as { errcode: string }).errcode, "M_NOT_JSON");
    assert.equal(sink.calls, 0);
  });

  it("accepts JSON bodies without a JSON content type", async () => {
    const res = await fetch(`${base}/_matrix/app/v1/transactions/7`, {
      method: "PUT",
      headers: { authorization: `Bearer ${HS_TOKEN}`, "content-type": "text/plain" },
      body: JSON.stringify({ events: [message] }),
    });
    assert.equal(res.status, 200);
    assert.equal(sink.accepted[0]?.txn.events.length, 1);
  });

  it("passes malformed items to the sink as rejected, not as events", async () => {
    const res = await put("8", { events: [message, { ...message, room_id: "nope" }] });
    assert.equal(res.status, 200);
    const txn = sink.accepted[0]?.txn;
    assert.equal(txn?.events.length, 1);
    assert.equal(txn?.rejected[0]?.eventId, "$abc");
  });

  it("asks the user query callback", async () => {
    const auth = { authorization: `Bearer ${HS_TOKEN}` };
    const known = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent("@wa_4915112345678:localhost")}`, { headers: auth });
    assert.equal(known.status, 200);
    assert.deepEqual(await known.json(), {});
    const unknown = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent("@someone:localhost")}`, { headers: auth });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { errcode: string }).errcode, "M_NOT_FOUND");
    const broken = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent("@wa_broken:localhost")}`, { headers: auth });
    assert.equal(broken.status, 500);
    const invalid = await fetch(`${base}/_matrix/app/v1/users/not-a-user`, { headers: auth });
    assert.equal(invalid.status, 400);
    assert.deepEqual(queried, ["@wa_4915112345678:localhost", "@someone:localhost", "@wa_broken:localhost"]);
  });

  it("accepts long user IDs in the path", async () => {
    const userId = `@wa_${"9".repeat(200)}:localhost`;
    const res = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent(userId)}`, { headers: { authorization: `Bearer ${HS_TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(queried, [userId]);
  });

  it("answers room alias queries with 404, pings with {}, unknown paths with M_UNRECOGNIZED", async () => {
    const auth = { authorization: `Bearer ${HS_TOKEN}` };
    const alias = await fetch(`${base}/_matrix/app/v1/rooms/${encodeURIComponent("#x:localhost")}`, { headers: auth });
    assert.equal(alias.status, 404);
    const ping = await fetch(`${base}/_matrix/app/v1/ping`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ transaction_id: "t" }),
    });
    assert.equal(ping.status, 200);
    assert.deepEqual(await ping.json(), {});
    const unauthPing = await fetch(`${base}/_matrix/app/v1/ping`, { method: "POST", body: "{}" });
    assert.equal(unauthPing.status, 401);
    const unknown = await fetch(`${base}/_matrix/app/unstable/org.matrix.msc3983/keys/claim`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { errcode: string }).errcode, "M_UNRECOGNIZED");
  });

  it("requires the token on every route but /health, unknown paths and HEAD included", async () => {
    const unknown = await fetch(`${base}/_matrix/app/unstable/whatever`, { method: "POST", body: "{}" });
    assert.equal(unknown.status, 401);
    const root = await fetch(`${base}/`);
    assert.equal(root.status, 401);
    const head = await fetch(`${base}/_matrix/app/v1/users/${encodeURIComponent("@wa_1:localhost")}`, { method: "HEAD" });
    assert.equal(head.status, 401);
    assert.deepEqual(queried, []);
  });

  it("checks a token in the header and one in the query alike: both must be right", async () => {
    const path = `${base}/_matrix/app/v1/transactions/9`;
    const body = JSON.stringify({ events: [] });
    const wrongQuery = await fetch(`${path}?access_token=nope`, { method: "PUT", headers: { authorization: `Bearer ${HS_TOKEN}` }, body });
    assert.equal(wrongQuery.status, 403);
    const wrongHeader = await fetch(`${path}?access_token=${HS_TOKEN}`, { method: "PUT", headers: { authorization: "Bearer nope" }, body });
    assert.equal(wrongHeader.status, 403);
    const otherScheme = await fetch(`${path}?access_token=${HS_TOKEN}`, { method: "PUT", headers: { authorization: `Basic ${HS_TOKEN}` }, body });
    assert.equal(otherScheme.status, 403);
    const repeated = await fetch(`${path}?access_token=${HS_TOKEN}&access_token=${HS_TOKEN}`, { method: "PUT", body });
    assert.equal(repeated.status, 403);
    assert.equal(sink.calls, 0);
    const both = await fetch(`${path}?access_token=${HS_TOKEN}`, { method: "PUT", headers: { authorization: `Bearer ${HS_TOKEN}` }, body });
    assert.equal(both.status, 200);
  });

  it("serves /health without a token", async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("serves /ready without a token: 200 when ready, 503 with the reasons otherwise", async () => {
    let ready = false;
    const other = await startAppserviceServer({
      bindAddress: "127.0.0.1",
      port: 0,
      hsToken: HS_TOKEN,
      sink,
      queryUser: async () => false,
      logger: quiet,
      readiness: async () => ({ ready, body: { ready, why: ready ? [] : ["homeserver"] } }),
    });
    try {
      const no = await fetch(`http://127.0.0.1:${other.port}/ready`);
      assert.equal(no.status, 503);
      assert.deepEqual(await no.json(), { ready: false, why: ["homeserver"] });
      ready = true;
      const yes = await fetch(`http://127.0.0.1:${other.port}/ready`);
      assert.equal(yes.status, 200);
      assert.deepEqual(await yes.json(), { ready: true, why: [] });
    } finally {
      await other.close();
    }
  });
});
