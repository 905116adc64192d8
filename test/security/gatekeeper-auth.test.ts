// The running reference gatekeeper (a real `dma-gatekeeper serve` process) against forged requests on both of its
// listeners: obfuscated paths, wrong, missing and misplaced tokens. Nothing forged may answer 2xx or change anything;
// the admin API works with its token on its own port, and the public port has no admin routes at all.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider } from "../gatekeeper/peer.js";
import { rawRequest, rawUpgrade } from "./gatekeeper-raw.js";

const ANNA = "+4915112345678";
const BEN = "+4915187654321";
const portOf = (url: string) => Number(new URL(url).port);

/** One path in many spellings a lax router might match, and the exact one last. */
function spellings(path: string, port: number): string[] {
  const [first, ...rest] = path.slice(1).split("/");
  const tail = rest.join("/");
  const f = first!;
  return [
    `/%${f.charCodeAt(0).toString(16)}${f.slice(1)}/${tail}`, // %61dmin
    `/%${f.charCodeAt(0).toString(16).toUpperCase()}${f.slice(1)}/${tail}`,
    `/${f}/%${tail.charCodeAt(0).toString(16)}${tail.slice(1)}`,
    `/${f}//${tail}`,
    `/${path}`,
    `/${f}/./${tail}`,
    `/${f}/x/../${tail}`,
    `/x/..${path}`,
    `/./${f}/${tail}`,
    `http://127.0.0.1:${port}${path}`,
    `${path}/`,
    `/${f}%2F${tail}`,
    `/${f}%2f${tail}`,
    `/${f}%5C${tail}`,
    `/${f.toUpperCase()}/${tail}`,
    `${path}%20`,
    `${path};x`,
    `${path}%`,
  ];
}

describe("gatekeeper: forged requests against both listeners", function () {
  this.timeout(120_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let adminPort: number;
  let publicPort: number;
  const evilKey = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x!;

  before(async () => {
    gk = await GatekeeperProcess.start({ logLevel: "warn" });
    adminPort = portOf(gk.adminUrl);
    publicPort = portOf(gk.url);
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna", { sendReceipts: false });
    await gk.addUser(BEN, "Ben", { sendReceipts: false });
  });

  after(async () => {
    await gk?.stop();
  });

  const forged = [
    { method: "POST", path: "/admin/providers", body: () => JSON.stringify({ id: "evil", publicKey: evilKey, domains: ["evil.example"] }) },
    { method: "POST", path: "/admin/users", body: () => JSON.stringify({ phone: "+4915100000099", name: "Mallory" }) },
    { method: "POST", path: `/admin/users/${encodeURIComponent(ANNA)}/send`, body: () => JSON.stringify({ to: BEN, text: "forged" }) },
    { method: "GET", path: `/admin/users/${encodeURIComponent(BEN)}/messages`, body: () => "" },
  ];

  it("answers no forged admin request with 2xx, on either port, and none has an effect", async () => {
    const token = gk.adminToken;
    const credentials: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: `Bearer ${token}x` },
      { authorization: `Bearer ${token.slice(0, -1)}` },
      { authorization: `bearer ${token}` },
      { authorization: `Basic ${Buffer.from(`admin:${token}`).toString("base64")}` },
      { authorization: `Bearer  ${token}` },
      { "x-admin-token": token },
    ];
    const tried: string[] = [];
    let requests = 0;
    for (const port of [adminPort, publicPort]) {
      for (const f of forged) {
        // The token where it does not belong (the query), or no token or a wrong one, at the exact path; and any other
        // spelling of the path, even with the real token.
        const cases: [string, Record<string, string>][] = [];
        for (const query of ["", `?access_token=${token}`, `?token=${token}`, `?authorization=Bearer%20${token}`]) {
          for (const headers of credentials) cases.push([`${f.path}${query}`, headers]);
        }
        for (const target of spellings(f.path, port)) {
          for (const headers of [...credentials, { authorization: `Bearer ${token}` }]) cases.push([target, headers]);
        }
        if (port === publicPort) cases.push([f.path, { authorization: `Bearer ${token}` }]);
        for (const [target, headers] of cases) {
          {
            const answer = await rawRequest(port, f.method, target, { headers, body: f.body() });
            requests++;
            if (answer.status >= 200 && answer.status < 300) tried.push(`${port === adminPort ? "admin" : "public"} ${f.method} ${target} ${JSON.stringify(headers)} -> ${answer.status}`);
            // Nothing on the public port may even pretend to be the admin API.
            if (port === publicPort) assert.ok([400, 401, 404].includes(answer.status), `${f.method} ${target}: ${answer.status} ${answer.body}`);
          }
        }
      }
    }
    assert.deepEqual(tried, [], `forged requests answered 2xx:\n${tried.join("\n")}`);
    assert.ok(requests > 500, `${requests} requests`);

    // No effect: no provider enlisted, no user added, no message sent (a real one afterwards arrives alone).
    assert.deepEqual((await gk.admin.providers()).map((p) => p.id), ["bridge1"]);
    assert.deepEqual((await gk.admin.users()).map((u) => u.e164).sort(), [ANNA, BEN].sort());
    await gk.sendAs(ANNA, { to: BEN, text: "real" });
    await gk.waitForMessage(BEN, (m) => JSON.stringify(m.content).includes("real"));
    const texts = (await gk.received(BEN)).map((m) => JSON.stringify(m.content));
    assert.equal(texts.filter((t) => t.includes("forged")).length, 0, texts.join("\n"));
  });

  it("serves the admin API with its token on its own port, and refuses even unknown paths without it", async () => {
    const token = gk.adminToken;
    const ok = await rawRequest(adminPort, "GET", "/admin/providers", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body)[0].id, "bridge1");
    assert.equal((await rawRequest(adminPort, "GET", "/admin/nothing-here")).status, 401, "default deny: no 404 without the token");
    assert.equal((await rawRequest(adminPort, "GET", "/admin/nothing-here", { headers: { authorization: `Bearer ${token}` } })).status, 404);
    assert.equal((await rawRequest(adminPort, "GET", "/v1/directory/tel%3A%2B4915112345678", { headers: { authorization: `Bearer ${await provider.token()}` } })).status, 401, "no interop routes on the admin port");
  });

  it("has no admin routes on the public port", async () => {
    const token = gk.adminToken;
    for (const f of forged) {
      const answer = await rawRequest(publicPort, f.method, f.path, { headers: { authorization: `Bearer ${token}` }, body: f.body() });
      assert.equal(answer.status, 404, `${f.method} ${f.path}: ${answer.body}`);
      assert.match(answer.body, /NOT_FOUND/);
    }
  });

  it("authenticates the interop routes by the route matched, whatever the spelling", async () => {
    const token = await provider.token();
    const user = `/v1/directory/${encodeURIComponent(`tel:${ANNA}`)}`;
    // The real request works; the same with no token, a misplaced token or any other spelling does not.
    assert.equal((await rawRequest(publicPort, "GET", user, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await rawRequest(publicPort, "GET", user)).status, 401);
    assert.equal((await rawRequest(publicPort, "GET", `${user}?access_token=${token}`)).status, 401);
    for (const target of spellings(user, publicPort)) {
      for (const headers of [{}, { authorization: `Bearer ${token}` }] as Record<string, string>[]) {
        const answer = await rawRequest(publicPort, "GET", target, { headers });
        assert.ok(answer.status >= 400, `${target} ${JSON.stringify(headers)}: ${answer.status} ${answer.body}`);
      }
    }
    // The same for the key service, which hands out one-time prekeys: no spelling may consume one.
    const keys = `/v1/keys/${encodeURIComponent(`tel:${ANNA}`)}`;
    for (const target of spellings(keys, publicPort)) {
      const answer = await rawRequest(publicPort, "GET", target);
      assert.ok(answer.status >= 400, `${target}: ${answer.status}`);
    }
    // Health is public by declaration only in its exact spelling.
    assert.equal((await rawRequest(publicPort, "GET", "/health")).status, 200);
    assert.equal((await rawRequest(publicPort, "GET", "/%68ealth")).status, 400);
    assert.equal((await rawRequest(publicPort, "GET", "/health/")).status, 400);
  });

  it("opens the WebSocket only for a valid provider token in the header, at the exact path", async () => {
    const good = () => provider.token();
    for (const target of ["/%761/ws", "/v1/ws/", "/v1//ws", "/v1/./ws", `http://127.0.0.1:${publicPort}/v1/ws`, "/V1/ws"]) {
      const status = await rawUpgrade(publicPort, target, { authorization: `Bearer ${await good()}` });
      assert.notEqual(status, 101, target);
    }
    assert.equal(await rawUpgrade(publicPort, "/v1/ws"), 401);
    assert.equal(await rawUpgrade(publicPort, `/v1/ws?access_token=${await good()}`), 401);
    assert.equal(await rawUpgrade(publicPort, "/v1/ws", { authorization: `Bearer ${gk.adminToken}` }), 401);
    assert.equal(await rawUpgrade(adminPort, "/v1/ws", { authorization: `Bearer ${await good()}` }), 401, "the admin port has no WebSocket");
    assert.equal((await gk.admin.providers())[0]!.connected, false);
    assert.equal(await rawUpgrade(publicPort, "/v1/ws", { authorization: `Bearer ${await good()}` }), 101);
  });
});
