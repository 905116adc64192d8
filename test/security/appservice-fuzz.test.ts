// Random and mutated transactions against the real appservice endpoint with the real store sink (SQLite in a
// temporary directory): whatever arrives, the server answers with a 2xx or 4xx Matrix error, never a 5xx, never
// crashes, and a well-formed transaction is still accepted and queued afterwards. Seeded, so a failure replays.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { AppserviceGapGuard } from "../../src/app/appservice-gaps.js";
import { startAppserviceServer, type AppserviceServer } from "../../src/matrix/appservice-server.js";
import { BridgeStore } from "../../src/store/store.js";
import { rawRequest, type RawRequest } from "./appservice-raw-http.js";
import { prng } from "../support/prng.js";

const HS_TOKEN = "hs-token-for-fuzzing";
const SEED = Number(process.env.FUZZ_SEED ?? 20260309);
const CASES = 400;
const BODY_LIMIT = 256 * 1024;


const validEvent = (i: number) => ({
  event_id: `$fuzz${i}`,
  room_id: "!fuzz:localhost",
  sender: "@alice:localhost",
  type: "m.room.message",
  origin_server_ts: 1_700_000_000_000 + i,
  content: { msgtype: "m.text", body: `hello ${i}` },
});

function nested(depth: number, open: string, close: string, inner = "0"): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

type Case = { name: string; req: Omit<RawRequest, "method" | "target"> & { method?: string }; txnId: string };

function generator(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const scalars = [null, true, false, 0, -1, 1.5, 1e308, "", "x", "\u0000", "\ud800", [], {}];
  const randomValue = (depth: number): unknown => {
    if (depth > 3 || random() < 0.4) return pick(scalars);
    if (random() < 0.5) return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    const keys = ["events", "type", "content", "room_id", "sender", "event_id", "state_key", "__proto__", "constructor", "ephemeral", "to_device"];
    return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(keys), randomValue(depth + 1)]));
  };
  const mutateEvent = (i: number): unknown => {
    const ev: Record<string, unknown> = validEvent(i);
    const key = pick(Object.keys(ev).concat("unsigned", "state_key", "redacts"));
    switch (int(4)) {
      case 0:
        delete ev[key];
        break;
      case 1:
        ev[key] = randomValue(0);
        break;
      case 2:
        ev[key] = "x".repeat(int(5000));
        break;
      default:
        ev.content = { body: JSON.parse(nested(int(200), "[", "]")) };
    }
    return ev;
  };
  const bodies: Array<(i: number) => { body: string | Buffer; contentType?: string; name: string }> = [
    (i) => ({ name: "valid", body: JSON.stringify({ events: [validEvent(i)] }) }),
    (i) => ({ name: "mutated events", body: JSON.stringify({ events: Array.from({ length: 1 + int(5) }, (_, k) => mutateEvent(i * 10 + k)) }) }),
    () => ({ name: "random value", body: JSON.stringify(randomValue(0)) }),
    () => ({ name: "non-object body", body: pick(["null", "1", '"events"', "[]", "true", "[{}]"]) }),
    () => ({ name: "sections of the wrong type", body: JSON.stringify({ events: [], [pick(["ephemeral", "to_device", "device_lists", "device_one_time_keys_count", "org.matrix.msc3202.device_lists"])]: randomValue(0) }) }),
    () => ({ name: "huge array", body: JSON.stringify({ events: Array.from({ length: 5000 + int(10_000) }, () => pick(scalars)) }) }),
    () => ({ name: "deep nesting in an event", body: `{"events":[{"type":"m.room.message","room_id":"!a:b","sender":"@a:b","event_id":"$d","origin_server_ts":1,"content":{"x":${nested(10_000, "[", "]")}}}]}` }),
    () => ({ name: "deep nesting as the body", body: nested(20_000 + int(50_000), "[", "]") }),
    () => ({ name: "deep objects", body: `{"events":${nested(5000, '[{"a":', "}]")}}` }),
    () => ({ name: "invalid UTF-8", body: Buffer.concat([Buffer.from('{"events":[{"type":"m.room.message","content":{"body":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}}]}')]) }),
    () => ({ name: "truncated JSON", body: JSON.stringify({ events: [validEvent(1)] }).slice(0, int(60)) }),
    () => ({ name: "prototype poisoning", body: pick(['{"events":[],"__proto__":{"x":1}}', '{"events":[],"constructor":{"prototype":{"x":1}}}', '{"events":[{"__proto__":{"admin":true}}]}']) }),
    () => ({ name: "wrong content type", body: JSON.stringify({ events: [] }), contentType: pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "image/png", ""]) }),
    () => ({ name: "over the body limit", body: JSON.stringify({ events: [{ content: { body: "x".repeat(BODY_LIMIT) } }] }) }),
    () => ({ name: "empty body", body: "" }),
  ];
  return (i: number): Case => {
    const make = pick(bodies)(i);
    // Duplicate transaction IDs on purpose: a resend must be answered like the first delivery.
    const txnId = random() < 0.3 ? String(int(10)) : `fuzz-${i}`;
    const headers: Record<string, string> = { authorization: `Bearer ${HS_TOKEN}` };
    if (make.contentType !== "") headers["content-type"] = make.contentType ?? "application/json";
    return { name: make.name, txnId, req: { headers, body: make.body } };
  };
}

describe("appservice endpoint fuzz (real store sink)", function () {
  this.timeout(60_000);
  let dir: string;
  let store: BridgeStore;
  let server: AppserviceServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "appservice-fuzz-"));
    store = await BridgeStore.open(join(dir, "bridge.db"));
    server = await startAppserviceServer({
      bindAddress: "127.0.0.1",
      port: 0,
      hsToken: HS_TOKEN,
      sink: new AppserviceGapGuard({ store, onQueued: () => {}, log: pino({ level: "silent" }), waitMs: 0 }), // random IDs make gaps: waiting them out is tested in test/app/appservice-gaps.test.ts
      queryUser: async () => false,
      logger: pino({ level: "silent" }),
      bodyLimitBytes: BODY_LIMIT,
    });
  });

  after(async () => {
    await server?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`answers ${CASES} random and mutated transactions without a 5xx (seed ${SEED})`, async () => {
    const next = generator(prng(SEED));
    const started = Date.now();
    const statuses = new Map<string, Map<number, number>>();
    for (let i = 0; i < CASES; i++) {
      const c = next(i);
      const res = await rawRequest(server.port, { method: "PUT", target: `/_matrix/app/v1/transactions/${c.txnId}`, ...c.req });
      assert.ok(res.status < 500, `case ${i} (${c.name}, seed ${SEED}) got ${res.status}: ${res.body.slice(0, 300)}`);
      if (res.status >= 400) {
        const err = JSON.parse(res.body) as { errcode?: unknown; error?: unknown };
        assert.match(String(err.errcode), /^M_[A-Z_]+$/, `case ${i} (${c.name}): not a Matrix error: ${res.body.slice(0, 200)}`);
      }
      const byStatus = statuses.get(c.name) ?? new Map<number, number>();
      byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
      statuses.set(c.name, byStatus);
    }
    const elapsed = Date.now() - started;
    console.log(`      ${CASES} cases in ${elapsed} ms: ${[...statuses].map(([n, s]) => `${n} ${[...s].map(([k, v]) => `${k}×${v}`).join("/")}`).join("; ")}`);
    assert.ok(elapsed < 30_000, `fuzzing took ${elapsed} ms`);
    // Every kind of input was tried at least once, so the table above is the whole story.
    assert.ok(statuses.size >= 12, `only ${statuses.size} kinds of input were generated`);
    assert.equal(statuses.get("deep nesting as the body")?.has(200), false, "a bare array was accepted as a transaction");
  });

  it("sets an over-deep event aside and queues the rest of its transaction", async () => {
    const before = await store.appservice.pending();
    const res = await rawRequest(server.port, {
      method: "PUT",
      target: "/_matrix/app/v1/transactions/deep-and-fine",
      headers: { authorization: `Bearer ${HS_TOKEN}`, "content-type": "application/json" },
      body: `{"events":[${JSON.stringify(validEvent(9000))},{"event_id":"$deep","room_id":"!fuzz:localhost","sender":"@a:localhost","type":"m.room.message","origin_server_ts":1,"content":{"x":${nested(10_000, "[", "]")}}}]}`,
    });
    assert.equal(res.status, 200, res.body);
    assert.equal(await store.appservice.pending(), before + 1, "the well-formed event was not queued alone");
  });

  it("still accepts and queues a well-formed transaction afterwards", async () => {
    const before = await store.appservice.pending();
    const res = await rawRequest(server.port, {
      method: "PUT",
      target: "/_matrix/app/v1/transactions/after-the-fuzz",
      headers: { authorization: `Bearer ${HS_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [validEvent(424242)] }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), {});
    assert.equal(await store.appservice.pending(), before + 1);
  });
});
