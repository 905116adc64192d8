// Provider tokens against a running gatekeeper process: a WebSocket token is good for one connection (jti), a token
// is good only for the gatekeeper it names (aud), and a connection ends with its token, after which the bridge's
// client reconnects with a fresh one and nothing it sends or receives is lost.
import assert from "node:assert/strict";
import { encodeContent } from "../../src/protocol/content.js";
import { textContent } from "../../src/protocol/content-builders.js";
import { newMessageId } from "../../src/protocol/message-id.js";
import { CLOSE_TOKEN_EXPIRED } from "../../src/interop/index.js";
import { TestProvider } from "../gatekeeper/peer.js";
import { BridgeSide, DOMAIN, PROVIDER_ID } from "../interop/bridge-side.js";
import { eventually, type GatekeeperProcess, newProviderKey, removeDir, startGatekeeperProcess } from "../interop/gatekeeper-process.js";
import { rawUpgrade } from "./gatekeeper-raw.js";

describe("gatekeeper: provider tokens", function () {
  this.timeout(90_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;

  before(async () => {
    gk = await startGatekeeperProcess();
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.admin.addProvider({ id: provider.id, publicKey: provider.publicKey, domains: [provider.domain] });
    await gk.admin.addUser({ phone: "+4915112345678", name: "Anna" });
  });

  after(async () => {
    await gk?.stop();
    if (gk) removeDir(gk.dataDir);
  });

  const directory = `/v1/directory/${encodeURIComponent("tel:+4915112345678")}`;

  it("opens one WebSocket per jti: a replayed upgrade token is refused, also after a restart", async () => {
    const token = await provider.token({ jti: "one-and-only" });
    const first = await provider.connect(token);
    first.ws.close();
    await first.closed;
    assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${token}` }), 401, "the same token again");
    const sameJti = await provider.token({ jti: "one-and-only", lifetimeSeconds: 200 });
    assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${sameJti}` }), 401, "another token with the same jti");
    assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${await provider.token({ jti: null })}` }), 401, "no jti at all");
    assert.match(gk.logs(), /jti was already used/);

    // The record is on disk: a restarted gatekeeper still refuses it.
    const replayLater = await provider.token({ jti: "survives-restart" });
    (await provider.connect(replayLater)).ws.close();
    await gk.stop();
    gk = await startGatekeeperProcess({ dataDir: gk.dataDir, port: gk.port });
    assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${replayLater}` }), 401);
    assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${await provider.token()}` }), 101);
  });

  it("lets HTTP requests reuse a token within its lifetime, by design", async () => {
    const token = await provider.token({ jti: "http-reuse" });
    for (let i = 0; i < 3; i++) assert.equal((await provider.http("GET", directory, { token })).status, 200);
  });

  it("refuses a token addressed to anyone but this gatekeeper", async () => {
    for (const audience of ["dma-interop", "http://127.0.0.1:1", `${gk.url}/`, gk.url.replace("127.0.0.1", "localhost"), `${gk.url}/v1`]) {
      const token = await provider.token({ audience });
      const res = await provider.http("GET", directory, { token });
      assert.equal(res.status, 401, audience);
      assert.match(((await res.json()) as { error: string }).error, /aud/);
      assert.equal(await rawUpgrade(gk.port, "/v1/ws", { authorization: `Bearer ${await provider.token({ audience })}` }), 401, audience);
    }
    assert.equal((await provider.http("GET", directory, { token: await provider.token({ audience: gk.url }) })).status, 200);
  });

  it("closes a WebSocket when the token that opened it expires", async () => {
    const started = Date.now();
    const conn = await provider.connect(await provider.token({ lifetimeSeconds: 2 }));
    const closed = await conn.closed;
    const afterMs = Date.now() - started;
    assert.equal(closed.code, CLOSE_TOKEN_EXPIRED);
    assert.ok(afterMs >= 1000 && afterMs < 4000, `closed after ${afterMs} ms`);
  });
});

describe("gatekeeper: the bridge's client across token expiry", function () {
  this.timeout(120_000);

  it("reconnects at once with a fresh token each time and loses nothing in either direction", async () => {
    const gk = await startGatekeeperProcess();
    const key = newProviderKey();
    const bridge = await BridgeSide.open(gk.url, key, { tokenLifetimeSeconds: 6 });
    try {
      await gk.admin.addProvider({ id: PROVIDER_ID, publicKey: key.publicKey, domains: [DOMAIN] });
      const phone = "+4915112345699";
      await gk.admin.addUser({ phone, name: "Otto", sendReceipts: false });
      const states: string[] = [];
      bridge.client.on("state", (s) => states.push(s.state));
      bridge.client.start();
      await bridge.client.connection.waitConnected(10_000);
      const alice = await bridge.user("expiry");

      // Both directions, continuously, for more than two token lifetimes.
      const until = Date.now() + 15_000;
      let sent = 0;
      let written = 0;
      while (Date.now() < until) {
        await bridge.client.sendContent(alice, `tel:${phone}`, encodeContent(textContent(`out ${sent}`)), newMessageId());
        sent++;
        await gk.admin.send(phone, { to: alice.local.uri, text: `in ${written}` });
        written++;
        await new Promise((r) => setTimeout(r, 100));
      }
      const connects = states.filter((s) => s === "connected").length;
      assert.ok(connects >= 3, `renewed at least twice: ${states.join(",")}`);
      assert.ok(!states.includes("waiting"), `renewal is not a failure with backoff: ${states.join(",")}`);

      const received = await eventually(() => gk.admin.received(phone), (m) => new Set(m.map((x) => x.messageId)).size >= sent, 15_000, "all outgoing");
      const outTexts = new Set(received.map((m) => (m.content as { message?: { conversation?: string } }).message?.conversation));
      for (let i = 0; i < sent; i++) assert.ok(outTexts.has(`out ${i}`), `out ${i} arrived`);
      await eventually(() => bridge.textsFrom(`tel:${phone}`), (t) => t.length >= written, 15_000, "all incoming");
      const inTexts = new Set(bridge.textsFrom(`tel:${phone}`));
      for (let i = 0; i < written; i++) assert.ok(inTexts.has(`in ${i}`), `in ${i} arrived`);
      await eventually(async () => (await gk.admin.providers())[0]!.queued, (n) => n === 0, 10_000, "everything acknowledged");
      assert.match(gk.logs(), /provider token expired; closing its connection/);
      console.log(`      ${sent} out, ${written} in across ${connects - 1} token renewals`);
    } finally {
      await bridge.close();
      await gk.stop();
      removeDir(gk.dataDir);
    }
  });
});
