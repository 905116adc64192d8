// The running bridge's appservice endpoint against forged requests (issue #9, part 1), over raw sockets so every
// request target arrives exactly as written: percent-encoded letters, `//`, dot segments, absolute form, trailing
// slashes, missing, wrong and mismatched tokens. None may get a 2xx, and none may have an effect: no forged message
// reaches the simulated phone user, no forged transaction is recorded in the bridge's store, no forged user query
// creates a puppet. The real token, in the header or the legacy query parameter, still works, which is also what
// shows that the forged messages would have arrived had they been accepted.
import { withBridgeDatabase } from "../support/test-database.js";
import assert from "node:assert/strict";
import { loadRegistration } from "../../src/config/registration.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "../e2e/world.js";
import { rawRequest, type RawResponse } from "./appservice-raw-http.js";

const ANNA = "+4915112345678";
const UNKNOWN = "+4915199999999";

interface Forgery {
  method: string;
  target: string;
  headers?: Record<string, string>;
}

describe("appservice endpoint authentication (running bridge)", function () {
  this.timeout(120_000);
  let w: World;
  let hsToken: string;
  let port: number;
  let annaRoom: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const localpart = `asauth${Date.now() % 1_000_000}`;
    w = await startWorld("asauth", [{ phone: ANNA, name: "Anna" }], { bridge: { permissions: { [`@${localpart}:localhost`]: "admin" } } }, localpart);
    hsToken = loadRegistration(w.config.appservice.registration).hs_token;
    port = w.config.appservice.port;
    const mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    annaRoom = await w.user.acceptInviteFrom(w.puppet(ANNA));
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  /** A transaction with one text message from the permitted Matrix user into the portal with Anna. */
  function transaction(text: string): string {
    return JSON.stringify({
      events: [
        {
          event_id: `$${text.replace(/\W/g, "")}-${Date.now()}`,
          room_id: annaRoom,
          sender: w.user.userId,
          type: "m.room.message",
          origin_server_ts: Date.now(),
          content: { msgtype: "m.text", body: text },
        },
      ],
    });
  }

  /** What the bridge's intake recorded as received (`event:<event ID>` for room events). */
  async function receivedItemKeys(): Promise<string[]> {
    return (await withBridgeDatabase(w.config, (db) => db.all<{ item_key: string }>("SELECT item_key FROM appservice_seen"))).map((r) => r.item_key);
  }

  async function puppetExists(e164: string): Promise<boolean> {
    return (await withBridgeDatabase(w.config, (db) => db.get("SELECT 1 AS one FROM puppets WHERE e164 = ?", [e164]))) !== undefined;
  }

  async function textsAnnaGot(): Promise<string[]> {
    return (await w.gk.received(ANNA)).map((m) => String((m.content as { message?: { conversation?: string } }).message?.conversation ?? ""));
  }

  /** Why `res` is not a refusal with a Matrix error, or undefined if it is one. */
  function notRefused(what: string, res: RawResponse, method = "GET"): string | undefined {
    if (![400, 401, 403, 404, 405].includes(res.status)) return `${what} got ${res.status}: ${res.body}`;
    if (method === "HEAD") return undefined;
    const errcode = (JSON.parse(res.body) as { errcode?: unknown }).errcode;
    return /^M_[A-Z_]+$/.test(String(errcode)) ? undefined : `${what}: not a Matrix error: ${res.body}`;
  }

  function assertRefused(what: string, res: RawResponse): void {
    const problem = notRefused(what, res);
    assert.equal(problem, undefined, problem);
  }

  /** The ways to spell a path so that a check on the raw URL and the router disagree, for one transaction ID. */
  function spellings(path: string): string[] {
    const [, , app, ...rest] = path.split("/");
    const tail = rest.join("/");
    return [
      `/%5Fmatrix/${app}/${tail}`,
      `/_matrix/%61pp/${tail}`,
      `/%5f%6d%61%74%72%69%78/app/${tail}`,
      `//_matrix/app/${tail}`,
      `/_matrix//app/${tail}`,
      `/_matrix/app/${tail}/`,
      `/_matrix/./app/${tail}`,
      `/x/../_matrix/app/${tail}`,
      `/_matrix/app/${tail.replace("/", "%2F")}`,
      `/_matrix\\app/${tail}`,
      `http://127.0.0.1:${port}${path}`,
      `http://attacker.example${path}`,
      `/_MATRIX/app/${tail}`,
      path.replace("/_matrix/app/v1", ""), // the legacy unprefixed API
      path,
    ];
  }

  it("refuses every obfuscated, unauthenticated or mis-authenticated transaction, and none has an effect", async () => {
    const forged: Array<{ txnId: string; text: string; forgery: Forgery }> = [];
    let n = 0;
    const add = (build: (path: string) => Forgery[]) => {
      const txnId = `forged-${n}-${Date.now()}`;
      for (const forgery of build(`/_matrix/app/v1/transactions/${txnId}`)) forged.push({ txnId, text: `forged ${n++}`, forgery });
    };
    // No token at all, on every spelling.
    add((path) => spellings(path).map((target) => ({ method: "PUT", target })));
    // A wrong token in the header or in the query, on every spelling.
    add((path) => spellings(path).map((target) => ({ method: "PUT", target, headers: { authorization: "Bearer not-the-token" } })));
    add((path) => spellings(path).map((target) => ({ method: "PUT", target: `${target}?access_token=not-the-token` })));
    // The real token on a non-normal spelling is refused too: the spelling alone decides, before anything else.
    add((path) => spellings(path).slice(0, -2).map((target) => ({ method: "PUT", target, headers: { authorization: `Bearer ${hsToken}` } })));
    // Half right is wrong: both the header and the parameter are checked when both are present.
    add((path): Forgery[] => [
      { method: "PUT", target: `${path}?access_token=${hsToken}`, headers: { authorization: "Bearer not-the-token" } },
      { method: "PUT", target: `${path}?access_token=not-the-token`, headers: { authorization: `Bearer ${hsToken}` } },
      { method: "PUT", target: `${path}?access_token=${hsToken}&access_token=not-the-token` },
      { method: "PUT", target: `${path}?access_token=${hsToken}`, headers: { authorization: `Basic ${Buffer.from(`x:${hsToken}`).toString("base64")}` } },
      { method: "PUT", target: `${path}?access_token=`, headers: {} },
      { method: "PUT", target: path, headers: { authorization: `Bearer ${hsToken}x` } },
      { method: "PUT", target: path, headers: { authorization: `Bearer ${hsToken.slice(0, -1)}` } },
      { method: "PUT", target: path, headers: { authorization: "Bearer" } },
    ]);

    // Every forgery is sent even if an earlier one was answered wrongly, so the effects below are checked too.
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    for (const { forgery, text } of forged) {
      const res = await rawRequest(port, {
        method: forgery.method,
        target: forgery.target,
        headers: { "content-type": "application/json", ...forgery.headers },
        body: transaction(text),
      });
      const problem = notRefused(`${forgery.method} ${forgery.target} ${JSON.stringify(forgery.headers ?? {})}`, res);
      if (problem) problems.push(problem);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    console.log(`      ${forged.length} forged transactions refused: ${[...statuses].map(([s, c]) => `${s}×${c}`).join(", ")}`);

    // A genuine transaction into the same room afterwards: the room's queue is ordered, so once Anna has it, any
    // forged message that had been queued would have reached her first.
    const genuine = `genuine after forgeries ${Date.now()}`;
    const ok = await rawRequest(port, {
      method: "PUT",
      target: `/_matrix/app/v1/transactions/genuine-${Date.now()}`,
      headers: { authorization: `Bearer ${hsToken}`, "content-type": "application/json" },
      body: transaction(genuine),
    });
    assert.equal(ok.status, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), {});
    await w.gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === genuine, 20_000);

    const got = await textsAnnaGot();
    assert.deepEqual(got.filter((t) => t.startsWith("forged")), [], "a forged message reached the phone user");
    assert.deepEqual((await receivedItemKeys()).filter((k) => k.includes("forged")), [], "a forged event was recorded");
    assert.deepEqual(problems, []);
  });

  it("accepts the real token in the legacy access_token parameter", async () => {
    const legacy = `legacy query token ${Date.now()}`;
    const txnId = `legacy-${Date.now()}`;
    const res = await rawRequest(port, {
      method: "PUT",
      target: `/_matrix/app/v1/transactions/${txnId}?access_token=${encodeURIComponent(hsToken)}`,
      headers: { "content-type": "application/json" },
      body: transaction(legacy),
    });
    assert.equal(res.status, 200, res.body);
    await w.gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === legacy, 20_000);
    assert.ok((await receivedItemKeys()).some((k) => k.includes(legacy.replace(/\W/g, ""))));
  });

  it("creates no puppet for a forged user query, and one for the homeserver's", async () => {
    const userPath = `/_matrix/app/v1/users/${encodeURIComponent(`@wa_${UNKNOWN.slice(1)}:localhost`)}`;
    const forgeries: Forgery[] = [
      ...spellings(userPath).flatMap((target) => [
        { method: "GET", target },
        { method: "HEAD", target },
        { method: "GET", target, headers: { authorization: "Bearer not-the-token" } },
        { method: "GET", target: `${target}?access_token=not-the-token` },
      ]),
      ...spellings(userPath).slice(0, -2).map((target) => ({ method: "GET", target, headers: { authorization: `Bearer ${hsToken}` } })),
      { method: "GET", target: `${userPath}?access_token=${hsToken}`, headers: { authorization: "Bearer not-the-token" } },
    ];
    const problems: string[] = [];
    for (const forgery of forgeries) {
      const res = await rawRequest(port, { method: forgery.method, target: forgery.target, ...(forgery.headers ? { headers: forgery.headers } : {}) });
      const problem = notRefused(`${forgery.method} ${forgery.target} ${JSON.stringify(forgery.headers ?? {})}`, res, forgery.method);
      if (problem) problems.push(problem);
    }
    assert.equal(await puppetExists(UNKNOWN), false, "a forged user query created a puppet");
    assert.deepEqual(problems, []);

    const real = await rawRequest(port, { method: "GET", target: userPath, headers: { authorization: `Bearer ${hsToken}` } });
    assert.equal(real.status, 200, real.body);
    assert.equal(await puppetExists(UNKNOWN), true, "the homeserver's user query did not create the puppet");
  });

  it("survives malformed authenticated transactions and carries the next real message", async () => {
    const auth = { authorization: `Bearer ${hsToken}`, "content-type": "application/json" };
    const deep = "[".repeat(50_000) + "]".repeat(50_000);
    const bodies: Array<string | Buffer> = [
      "{not json",
      "null",
      deep,
      // One event nested 10k deep (JSON.stringify cannot write it, so it is spliced in as text).
      transaction("deep").replace('"content":{', `"content":{"nested":${"[".repeat(10_000)}${"]".repeat(10_000)},`),
      Buffer.concat([Buffer.from('{"events":[{"type":"m.room.message","content":{"body":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}]}')]),
      JSON.stringify({ events: Array.from({ length: 50_000 }, () => 0) }),
      Buffer.alloc(33 * 1024 * 1024, 0x20),
    ];
    for (const [i, body] of bodies.entries()) {
      const res = await rawRequest(port, { method: "PUT", target: `/_matrix/app/v1/transactions/malformed-${i}-${Date.now()}`, headers: auth, body }, 30_000).catch((err: Error) => err);
      // The over-limit body may be cut off mid-upload; anything but a 5xx or the bridge going down is fine.
      if (!(res instanceof Error)) assert.ok(res.status < 500, `malformed body ${i} got ${res.status}: ${res.body.slice(0, 200)}`);
    }
    assert.equal((await rawRequest(port, { method: "GET", target: "/health" })).status, 200);
    const after = `after malformed ${Date.now()}`;
    const ok = await rawRequest(port, { method: "PUT", target: `/_matrix/app/v1/transactions/after-malformed-${Date.now()}`, headers: auth, body: transaction(after) });
    assert.equal(ok.status, 200, ok.body);
    await w.gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === after, 20_000);
  });

  it("answers other routes and unknown paths with errors only, and /health without a token", async () => {
    const cases: Forgery[] = [
      { method: "POST", target: "/_matrix/app/v1/ping" },
      { method: "POST", target: "/%5Fmatrix/app/v1/ping" },
      { method: "GET", target: `/_matrix/app/v1/rooms/${encodeURIComponent("#x:localhost")}` },
      { method: "GET", target: "/_matrix/app/v1/thirdparty/protocol/whatsapp" },
      { method: "GET", target: "/admin" },
      { method: "GET", target: "/" },
      { method: "OPTIONS", target: "*" },
      { method: "GET", target: "/health/" },
      { method: "GET", target: "/%68ealth" },
    ];
    for (const c of cases) assertRefused(`${c.method} ${c.target}`, await rawRequest(port, { method: c.method, target: c.target, body: "{}" }));
    const ping = await rawRequest(port, { method: "POST", target: "/_matrix/app/v1/ping", headers: { authorization: `Bearer ${hsToken}`, "content-type": "application/json" }, body: "{}" });
    assert.equal(ping.status, 200);
    const health = await rawRequest(port, { method: "GET", target: "/health" });
    assert.equal(health.status, 200);
  });
});
