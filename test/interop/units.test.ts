import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { Backoff, ProviderTokens, TOKEN_AUDIENCE } from "../../src/interop/index.js";
import { DeviceHints } from "../../src/interop/device-hints.js";

describe("interop client parts", () => {
  it("backs off exponentially with jitter, capped, and starts over after reset", () => {
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
    const tokens = new ProviderTokens("acme", privateKey.export({ type: "pkcs8", format: "pem" }).toString(), () => now);
    const provider = await tokens.providerToken();
    assert.equal(decodeProtectedHeader(provider).alg, "EdDSA");
    const { payload } = await jwtVerify(provider, publicKey, {
      audience: TOKEN_AUDIENCE,
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

    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    assert.throws(() => new ProviderTokens("acme", rsa), /Ed25519/);
    assert.throws(() => new ProviderTokens("acme", publicKey), /Ed25519 private/);
  });

  it("keeps device hints: known registrations survive, stale ones are forgotten", () => {
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
