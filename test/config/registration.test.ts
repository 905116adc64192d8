import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importJWK, importPKCS8, jwtVerify, SignJWT } from "jose";
import { ConfigError } from "../../src/config/errors.js";
import { analyseConfigFile, parseConfig } from "../../src/config/load.js";
import { generateProviderKey, providerPublicKey } from "../../src/config/provider-key.js";
import { generateRegistration, loadRegistration, parseRegistration, registrationMismatches, renderRegistration } from "../../src/config/registration.js";
import { minimalConfig, removeTempDirs, tempDir } from "./fixtures.js";

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

function sampleConfig() {
  const dir = tempDir();
  return parseConfig(minimalConfig(dir), "c.yaml", { baseDir: dir });
}

describe("registration", () => {
  after(removeTempDirs);

  it("generates the fields the homeserver needs", () => {
    const registration = generateRegistration(sampleConfig());
    assert.equal(registration.id, "dma-bridge");
    assert.equal(registration.url, "http://127.0.0.1:29340");
    assert.equal(registration.sender_localpart, "whatsappbot");
    assert.match(registration.as_token, /^[A-Za-z0-9_-]{64}$/);
    assert.match(registration.hs_token, /^[A-Za-z0-9_-]{64}$/);
    assert.notEqual(registration.as_token, registration.hs_token);
    assert.equal(registration.rate_limited, false);
    assert.deepEqual(registration.namespaces.aliases, []);
    assert.deepEqual(registration.namespaces.rooms, []);
    assert.ok(registration.namespaces.users.every((entry) => entry.exclusive));
    assert.equal(registration.receive_ephemeral, true);
    assert.equal(registration["de.sorunome.msc2409.push_ephemeral"], true);
    assert.equal(registration["org.matrix.msc3202"], true);
    assert.equal(registration["io.element.msc4190"], true);
  });

  it("claims the puppets and the bot exclusively, and nobody else", () => {
    const regexes = generateRegistration(sampleConfig()).namespaces.users.map((entry) => new RegExp(entry.regex));
    const claimed = (userId: string) => regexes.some((regex) => regex.test(userId));
    assert.ok(claimed("@wa_4915112345678:example.org"));
    assert.ok(claimed("@whatsappbot:example.org"));
    assert.ok(!claimed("@alice:example.org"));
    assert.ok(!claimed("@wa_4915112345678:example.org.evil"));
    assert.ok(!claimed("@wa_4915112345678:exampleXorg"));
    assert.ok(!claimed("@xwhatsappbot:example.org"));
  });

  it("keeps existing tokens unless asked to rotate, and replaces unusable ones", () => {
    const config = sampleConfig();
    const first = generateRegistration(config);
    const again = generateRegistration(config, first);
    assert.equal(again.as_token, first.as_token);
    assert.equal(again.hs_token, first.hs_token);
    const rotated = generateRegistration(config, first, { rotate: true });
    assert.notEqual(rotated.as_token, first.as_token);
    assert.notEqual(rotated.hs_token, first.hs_token);
    const fromEmpty = generateRegistration(config, { as_token: "", hs_token: "" });
    assert.match(fromEmpty.as_token, /^[A-Za-z0-9_-]{64}$/);
  });

  it("renders YAML that parses back to the same registration", () => {
    const registration = generateRegistration(sampleConfig());
    assert.deepEqual(parseRegistration(renderRegistration(registration), "r.yaml"), registration);
  });

  it("refuses registrations without tokens unless allowed, and reports bad files", () => {
    const registration = { ...generateRegistration(sampleConfig()), as_token: "" };
    const text = renderRegistration(registration);
    assert.throws(() => parseRegistration(text, "r.yaml"), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.lines(), ["as_token: is empty or contains whitespace; run generate-registration to create tokens"]);
      return true;
    });
    assert.equal(parseRegistration(text, "r.yaml", { allowEmptyTokens: true }).as_token, "");
    assert.throws(() => parseRegistration("id: [", "r.yaml"), /YAML syntax error/);
    assert.throws(() => parseRegistration("id: x\nurl: 5\n", "r.yaml"), /url: must be the URL the homeserver pushes transactions to, got 5/);
    assert.throws(() => loadRegistration("/nonexistent/registration.yaml"), /does not exist; create it with generate-registration/);
  });

  it("lists how a registration differs from the config", () => {
    const dir = tempDir();
    const config = parseConfig(minimalConfig(dir), "c.yaml", { baseDir: dir });
    const registration = generateRegistration(config);
    assert.deepEqual(registrationMismatches(config, registration), []);
    const moved = parseConfig(minimalConfig(dir, "appservice:\n  port: 30000\n"), "c.yaml", { baseDir: dir });
    assert.deepEqual(registrationMismatches(moved, registration), [
      'url: the registration has "http://127.0.0.1:29340", the config gives "http://127.0.0.1:30000"',
    ]);
    const renamed = parseConfig(minimalConfig(dir).replace("bridge:\n", 'bridge:\n  puppet_localpart_template: "whatsapp_{digits}"\n'), "c.yaml", { baseDir: dir });
    assert.deepEqual(registrationMismatches(renamed, registration), [
      'namespaces.users: the exclusive regex "^@whatsapp_[0-9]+:example\\\\.org$" is missing',
    ]);
    assert.deepEqual(registrationMismatches(config, { ...registration, "io.element.msc4190": false }), ["io.element.msc4190: must be true"]);
  });

  it("ships a sample registration.yaml that matches config.sample.yaml (without tokens)", () => {
    const analysis = analyseConfigFile(join(REPO_ROOT, "config.sample.yaml"), { deferMissingSecretFiles: true, env: {} });
    assert.ok(analysis.config);
    const sample = loadRegistration(join(REPO_ROOT, "registration.yaml"), { allowEmptyTokens: true });
    assert.equal(sample.as_token, "");
    assert.equal(sample.hs_token, "");
    assert.deepEqual(registrationMismatches(analysis.config, sample), []);
    assert.deepEqual({ ...sample, as_token: "x", hs_token: "y" }, { ...generateRegistration(analysis.config), as_token: "x", hs_token: "y" });
  });
});

describe("provider key", () => {
  after(removeTempDirs);

  it("writes a private key only its owner can read and returns the raw public key", async () => {
    const dir = tempDir();
    const path = join(dir, "sub", "provider-key.pem");
    const publicKey = generateProviderKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.match(publicKey, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(publicKey, "base64url").length, 32);
    const pem = readFileSync(path, "utf8");
    assert.equal(providerPublicKey(pem), publicKey);

    // The enlisted value verifies what the private key signs.
    const token = await new SignJWT({ sub: "matrix-example-org" }).setProtectedHeader({ alg: "EdDSA" }).sign(await importPKCS8(pem, "EdDSA"));
    const verifier = await importJWK({ kty: "OKP", crv: "Ed25519", x: publicKey }, "EdDSA");
    const { payload } = await jwtVerify(token, verifier);
    assert.equal(payload.sub, "matrix-example-org");
  });

  it("refuses to overwrite an existing key", () => {
    const dir = tempDir();
    const path = join(dir, "provider-key.pem");
    writeFileSync(path, "precious");
    assert.throws(() => generateProviderKey(path), /already exists; refusing to overwrite/);
    assert.equal(readFileSync(path, "utf8"), "precious");
  });
});
