import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { Backoff, ProviderTokens, tokenAudience } from "../../src/interop/index.js";
import { DeviceHints } from "../../src/interop/device-hints.js";

describe("interop client parts", () => {
  it("backs off exponentially with jitter, capped, and starts over after reset", async () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999999 });
    const lows = Array.from({ length: 6 }, () => low.next());
    const highs = Array.from({ length: 6 }, () => high.next());
    assert.deepEqual(lows, [50, 100, 200, 400, 500, 500]);
    assert.deepEqual(highs, [100, 200, 400, 800, 1000, 1000]);
    assert.equal(low.attempts, 6);
    low.reset();
    assert.equal(low.next(), 50);
    const real = new Backoff({ initialMs: 100, maxMs: 1000 });
    for (let i = 0; i < 50; i++) {
      const d = real.next();
      assert.ok(d >= 50 && d <= 1000);
    }
    assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
  });

  it("signs short-lived EdDSA tokens the gatekeeper can verify, and reuses them until near expiry", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    let now = Date.UTC(2026, 0, 1);
    const tokens = new ProviderTokens("acme", privateKey.export({ type: "pkcs8", format: "pem" }).toString(), { gatekeeperUrl: "https://GK.example:443/interop/", now: () => now });
    const provider = await tokens.providerToken();
    assert.equal(decodeProtectedHeader(provider).alg, "EdDSA");
    const { payload } = await jwtVerify(provider, publicKey, {
      audience: "https://gk.example/interop",
      issuer: "acme",
      currentDate: new Date(now),
    });
    assert.equal(payload.sub, "acme");
    assert.equal(payload.exp! - payload.iat!, 300);

    const user = await tokens.userToken("matrix:u/alice:example.org");
    assert.equal(decodeJwt(user).sub, "matrix:u/alice:example.org");
    assert.equal(await tokens.providerToken(), provider, "cached");
    now += 241_000; // less than a minute left: a fresh token
    const renewed = await tokens.providerToken();
    assert.notEqual(renewed, provider);
    assert.equal(decodeJwt(renewed).iat, Math.floor(now / 1000));

    // Connection tokens are never reused: each one opens one WebSocket.
    const a = await tokens.connectionToken();
    const b = await tokens.connectionToken();
    assert.notEqual(decodeJwt(a.token).jti, decodeJwt(b.token).jti);
    assert.equal(a.expiresAt, Math.floor(now / 1000) + 300);

    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    const gatekeeperUrl = "http://127.0.0.1:1";
    assert.throws(() => new ProviderTokens("acme", rsa, { gatekeeperUrl }), /Ed25519/);
    assert.throws(() => new ProviderTokens("acme", publicKey, { gatekeeperUrl }), /Ed25519 private/);
  });

  it("names the gatekeeper's normalised base URL as the audience", async () => {
    assert.equal(tokenAudience("HTTPS://Interop.Example:443/"), "https://interop.example");
    assert.equal(tokenAudience("http://127.0.0.1:29400"), "http://127.0.0.1:29400");
    assert.equal(tokenAudience("http://[::1]:80/gk//"), "http://[::1]/gk");
  });

  it("keeps device hints: known registrations survive, stale ones are forgotten", async () => {
    const hints = new DeviceHints();
    assert.equal(hints.get("tel:+4915112345678"), undefined);
    hints.setDevices("tel:+4915112345678", [1, 2]);
    hints.setRegistration("tel:+4915112345678", 1, 111);
    hints.setRegistration("tel:+4915112345678", 2, 222);
    hints.setDevices("tel:+4915112345678", [1, 2, 3], [2]);
    assert.deepEqual([...hints.get("tel:+4915112345678")!], [
      [1, 111],
      [2, undefined],
      [3, undefined],
    ]);
  });
});
