import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../src/config/errors.js";
import { analyseConfig, analyseConfigFile, loadConfig, parseConfig } from "../../src/config/load.js";
import { parseListenAddress } from "../../src/config/schema.js";
import { ed25519Pem, minimalConfig, removeTempDirs, tempDir } from "./fixtures.js";

const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.lines();
  }
  assert.fail("expected a ConfigError");
}

describe("config loading", () => {
  after(removeTempDirs);

  it("applies defaults and resolves paths against the config file's directory", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir));
    const config = loadConfig(join(dir, "config.yaml"));
    assert.equal(config.appservice.port, 29340);
    assert.equal(config.appservice.bind_address, "127.0.0.1");
    assert.equal(config.appservice.url, "http://127.0.0.1:29340");
    assert.equal(config.appservice.registration, join(dir, "registration.yaml"));
    assert.equal(config.appservice.bot_localpart, "whatsappbot");
    assert.equal(config.bridge.puppet_localpart_template, "wa_{digits}");
    assert.equal(config.bridge.puppet_displayname_template, "{name} (WhatsApp)");
    assert.equal(config.bridge.default_country, null);
    assert.deepEqual(config.bridge.limits, { messages_per_minute: 60, new_portals_per_hour: 30, messages_over_limit: "hold", sender_messages_per_minute: 200, sender_new_chats_per_hour: 20 });
    assert.equal(config.bridge.personal_space, true);
    assert.equal(config.bridge.default_reachable, "everyone");
    assert.deepEqual(config.bridge.encryption, { default: true, allow: true, max_key_wait_seconds: 600, max_open_devices: 128, share_keys_with: "all" });
    assert.equal(config.bridge.max_media_size_mb, 100);
    assert.equal(config.database.type, "sqlite");
    assert.equal(config.database.path, join(dir, "data", "bridge.db"));
    assert.deepEqual(config.logging, { level: "info", format: "json" });
    assert.match(config.gatekeeper.provider_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(config.homeserver.url, "http://127.0.0.1:8008");
  });

  it("reports every problem at once, each with its key path and line", () => {
    const dir = tempDir();
    const text = minimalConfig(dir).replace(
      "bridge:\n",
      "appservice:\n  port: abc\n  colour: blue\nbridge:\n  puppet_localpart_template: \"wa_{digit}\"\n",
    );
    const lines = problemsOf(() => parseConfig(text, "three.yaml", { baseDir: dir }));
    assert.deepEqual(lines, [
      'appservice.port: must be an integer 1-65535, got "abc" (line 5)',
      "appservice.colour: unknown key; expected one of: id, bind_address, port, url, registration, bot_localpart, bot_displayname (line 6)",
      'bridge.puppet_localpart_template: must contain {digits} exactly once, got "wa_{digit}" (line 8)',
    ]);
  });

  it("suggests the key a typo was meant to be", () => {
    const dir = tempDir();
    const text = minimalConfig(dir, "logging:\n  levle: debug\n");
    assert.deepEqual(problemsOf(() => parseConfig(text, "typo.yaml", { baseDir: dir })), [
      'logging.levle: unknown key; did you mean "level"? (line 12)',
    ]);
    const topLevel = minimalConfig(dir, "databse:\n  path: x.db\n");
    assert.deepEqual(problemsOf(() => parseConfig(topLevel, "typo.yaml", { baseDir: dir })), [
      'databse: unknown key; did you mean "database"? (line 11)',
    ]);
  });

  it("names every required key of an empty file", () => {
    const lines = problemsOf(() => parseConfig("", "empty.yaml"));
    assert.deepEqual(
      lines.map((line) => line.split(":")[0]),
      ["homeserver.url", "homeserver.domain", "bridge.permissions", "gatekeeper.url", "gatekeeper.provider_id", "gatekeeper.provider_key"],
    );
    assert.match(lines[0] ?? "", /is missing; expected an http/);
    // No line to point at: the sections themselves are missing.
    assert.ok(lines.every((line) => !line.includes("(line")));
  });

  it("rejects YAML syntax errors, duplicate keys and non-mapping documents with a line", () => {
    assert.deepEqual(problemsOf(() => parseConfig("homeserver:\n  url: [\n", "broken.yaml")).length, 1);
    assert.match(problemsOf(() => parseConfig("homeserver:\n  url: [\n", "broken.yaml"))[0] ?? "", /^YAML syntax error: .*\(line \d+\)$/);
    assert.match(problemsOf(() => parseConfig("a: 1\na: 2\n", "dup.yaml"))[0] ?? "", /^YAML syntax error: Map keys must be unique \(line 2\)$/);
    assert.match(problemsOf(() => parseConfig("- a\n- b\n", "list.yaml"))[0] ?? "", /must hold a mapping of sections .*got a list/);
  });

  it("reports a missing config file as a problem, not a crash", () => {
    const lines = problemsOf(() => loadConfig("/nonexistent/dir/config.yaml"));
    assert.deepEqual(lines, ["config file /nonexistent/dir/config.yaml does not exist"]);
  });

  it("checks value formats with messages that say what was expected and what was given", () => {
    const dir = tempDir();
    const text = `homeserver:
  url: ftp://example.org
  domain: "not a domain"
appservice:
  port: 70000
  bot_localpart: Bot
  bind_address: "bad address!"
bridge:
  default_country: XX
  max_media_size_mb: 0
  send_read_receipts: "yes"
  encryption: { default: maybe }
  permissions:
    "example.org": superuser
gatekeeper:
  url: http://127.0.0.1:29400
  provider_id: "has space"
  provider_key: file:./provider-key.pem
database:
  type: mysql
logging:
  format: xml
`;
    writeFileSync(join(dir, "provider-key.pem"), ed25519Pem(), { mode: 0o600 });
    const lines = problemsOf(() => parseConfig(text, "bad.yaml", { baseDir: dir }));
    assert.deepEqual(lines, [
      'homeserver.url: must be an http:// or https:// URL without query, fragment or credentials, got "ftp://example.org" (line 2)',
      'homeserver.domain: must be a Matrix server name such as example.org, got "not a domain" (line 3)',
      'appservice.bind_address: must be an IP address or host name to listen on, got "bad address!" (line 7)',
      "appservice.port: must be an integer 1-65535, got 70000 (line 5)",
      'appservice.bot_localpart: must be a Matrix localpart (lowercase a-z, 0-9 and . _ = - / +), got "Bot" (line 6)',
      'bridge.default_country: must be an ISO 3166 alpha-2 country code with a phone numbering plan, such as DE, got "XX" (line 9)',
      'bridge.encryption.default: must be true or false, got "maybe" (line 12)',
      'bridge.send_read_receipts: must be true or false, got "yes" (line 11)',
      "bridge.max_media_size_mb: must be a number of megabytes above 0 and at most 4096, got 0 (line 10)",
      'bridge.permissions["example.org"]: must be "user" or "admin", got "superuser" (line 14)',
      'gatekeeper.provider_id: must be an identifier of letters, digits, \'.\', \'_\' or \'-\' (at most 64 characters), got "has space" (line 17)',
      'database.type: must be "sqlite" or "postgres", got "mysql" (line 20)',
      'logging.format: must be "json" or "pretty", got "xml" (line 22)',
    ]);
  });

  it("applies cross-field rules", () => {
    const dir = tempDir();
    const wildcard = minimalConfig(dir, "appservice:\n  bind_address: 0.0.0.0\n");
    assert.deepEqual(problemsOf(() => parseConfig(wildcard, "c.yaml", { baseDir: dir })), [
      'appservice.url: is required when bind_address is "0.0.0.0": the homeserver cannot reach a wildcard address (line 11)',
    ]);
    const withUrl = minimalConfig(dir, "appservice:\n  bind_address: 0.0.0.0\n  url: http://bridge.internal:29340/\n");
    assert.equal(parseConfig(withUrl, "c.yaml", { baseDir: dir }).appservice.url, "http://bridge.internal:29340");

    const ipv6 = minimalConfig(dir, "appservice:\n  bind_address: \"::1\"\n  port: 1234\n");
    assert.equal(parseConfig(ipv6, "c.yaml", { baseDir: dir }).appservice.url, "http://[::1]:1234");

    const botInNamespace = minimalConfig(dir, "appservice:\n  bot_localpart: wa_123\n");
    assert.deepEqual(problemsOf(() => parseConfig(botInNamespace, "c.yaml", { baseDir: dir })), [
      'appservice.bot_localpart: "wa_123" falls inside the puppet namespace of bridge.puppet_localpart_template ("wa_{digits}") (line 12)',
    ]);

    const encryption = minimalConfig(dir).replace("bridge:\n", "bridge:\n  encryption: { allow: false }\n");
    assert.deepEqual(problemsOf(() => parseConfig(encryption, "c.yaml", { baseDir: dir })), [
      "bridge.encryption.default: cannot be true while allow is false (line 5)",
    ]);
    const encryptionOff = minimalConfig(dir).replace("bridge:\n", "bridge:\n  encryption: { default: false, allow: false }\n");
    assert.deepEqual(parseConfig(encryptionOff, "c.yaml", { baseDir: dir }).bridge.encryption, { default: false, allow: false, max_key_wait_seconds: 600, max_open_devices: 128, share_keys_with: "all" });
  });

  it("validates the safety settings: limits, key sharing, reachability", () => {
    const dir = tempDir();
    const withBridge = (yaml: string) => minimalConfig(dir).replace("bridge:\n", `bridge:\n${yaml}`);
    const problems = (yaml: string) => problemsOf(() => parseConfig(withBridge(yaml), "s.yaml", { baseDir: dir })).map((line) => line.replace(/ \(line \d+\)$/, ""));
    assert.deepEqual(problems("  limits: { messages_per_minute: -1, new_portals_per_hour: 1.5, messages_over_limit: drop, sender_messages_per_minute: many, sender_new_chats_per_hour: 100001 }\n"), [
      "bridge.limits.messages_per_minute: must be a whole number from 0 (no limit) to 100000, got -1",
      "bridge.limits.new_portals_per_hour: must be a whole number from 0 (no limit) to 100000, got 1.5",
      'bridge.limits.messages_over_limit: must be "hold" or "refuse", got "drop"',
      'bridge.limits.sender_messages_per_minute: must be a whole number from 0 (no limit) to 100000, got "many"',
      "bridge.limits.sender_new_chats_per_hour: must be a whole number from 0 (no limit) to 100000, got 100001",
    ]);
    assert.deepEqual(problems("  encryption: { share_keys_with: verified }\n  default_reachable: friends\n  personal_space: maybe\n"), [
      'bridge.encryption.share_keys_with: must be "all" or "cross_signed", got "verified"',
      'bridge.personal_space: must be true or false, got "maybe"',
      'bridge.default_reachable: must be "everyone", "contacts" or "nobody", got "friends"',
    ]);
    const off = parseConfig(withBridge("  limits: { messages_per_minute: 0 }\n  encryption: { share_keys_with: cross_signed }\n"), "s.yaml", { baseDir: dir });
    assert.deepEqual(off.bridge.limits, { messages_per_minute: 0, new_portals_per_hour: 30, messages_over_limit: "hold", sender_messages_per_minute: 200, sender_new_chats_per_hour: 20 });
    assert.equal(off.bridge.encryption.share_keys_with, "cross_signed");
  });

  it("validates the puppet templates", () => {
    const dir = tempDir();
    const withTemplates = (localpart: string, displayname: string) =>
      minimalConfig(dir).replace(
        "bridge:\n",
        `bridge:\n  puppet_localpart_template: ${JSON.stringify(localpart)}\n  puppet_displayname_template: ${JSON.stringify(displayname)}\n`,
      );
    const problems = (localpart: string, displayname = "{name}") =>
      problemsOf(() => parseConfig(withTemplates(localpart, displayname), "t.yaml", { baseDir: dir })).map((line) => line.replace(/ \(line \d+\)$/, ""));

    assert.deepEqual(problems("wa_{digits}_{digits}"), ['bridge.puppet_localpart_template: must contain {digits} exactly once, got "wa_{digits}_{digits}"']);
    // The only problem in the file: the whole-config checks then run too, and must not trip over the template.
    assert.deepEqual(problems("constructor"), ['bridge.puppet_localpart_template: must contain {digits} exactly once, got "constructor"']);
    assert.deepEqual(problems("wa_{digits}_{country}"), [
      'bridge.puppet_localpart_template: has the unknown placeholder {country} (only {digits} is allowed), got "wa_{digits}_{country}"',
    ]);
    assert.deepEqual(problems("WA_{digits}"), [
      'bridge.puppet_localpart_template: must yield a Matrix localpart (lowercase a-z, 0-9 and . _ = - / +), but gives "WA_4915112345678" for +4915112345678',
    ]);
    assert.deepEqual(problems(`${"x".repeat(240)}{digits}`), ["bridge.puppet_localpart_template: makes puppet user IDs longer than 255 characters"]);
    assert.deepEqual(problems("wa_{digits}", "WhatsApp user"), [
      'bridge.puppet_displayname_template: must contain {name} or {phone}, otherwise every puppet gets the same name; got "WhatsApp user"',
    ]);
    assert.deepEqual(problems("wa_{digits}", "{nick} (WA)"), [
      'bridge.puppet_displayname_template: has the unknown placeholder {nick} (allowed: {name}, {phone}), got "{nick} (WA)"',
    ]);
    const ok = parseConfig(withTemplates("whatsapp.{digits}+x", "{phone} / {name}"), "t.yaml", { baseDir: dir });
    assert.equal(ok.bridge.puppet_localpart_template, "whatsapp.{digits}+x");
  });

  it("validates permission keys and requires at least one entry", () => {
    const dir = tempDir();
    const text = minimalConfig(dir).replace(
      '    "example.org": user\n',
      '    "*": user\n    "example.org:8448": admin\n    "@alice:example.org": admin\n    "not a server": user\n    "@bad": user\n',
    );
    assert.deepEqual(
      problemsOf(() => parseConfig(text, "p.yaml", { baseDir: dir })).map((line) => line.replace(/ \(line \d+\)$/, "")),
      [
        'bridge.permissions["not a server"]: the key "not a server" must be "*", a server name (example.org) or a user ID (@alice:example.org)',
        'bridge.permissions["@bad"]: the key "@bad" is not a valid Matrix user ID (expected @localpart:server)',
      ],
    );
  });

  it("normalises default_country to upper case", () => {
    const dir = tempDir();
    const text = minimalConfig(dir).replace("bridge:\n", "bridge:\n  default_country: de\n");
    assert.equal(parseConfig(text, "c.yaml", { baseDir: dir }).bridge.default_country, "DE");
  });

  it("keeps :memory: as the database path", () => {
    const dir = tempDir();
    const config = parseConfig(minimalConfig(dir, 'database:\n  path: ":memory:"\n'), "c.yaml", { baseDir: dir });
    assert.equal(config.database.path, ":memory:");
  });

  it("takes a PostgreSQL URL (inline or env:), infers the engine from it, and refuses a URL of anything else", () => {
    const dir = tempDir();
    const inline = parseConfig(minimalConfig(dir, "database:\n  url: postgres://bridge:pw@db:5432/bridge\n"), "c.yaml", { baseDir: dir });
    assert.equal(inline.database.type, "postgres");
    assert.equal(inline.database.url, "postgres://bridge:pw@db:5432/bridge");
    const fromEnv = parseConfig(minimalConfig(dir, "database:\n  url: env:MDB_DB_URL\n"), "c.yaml", { baseDir: dir, env: { MDB_DB_URL: "postgresql://h/db" } });
    assert.equal(fromEnv.database.url, "postgresql://h/db");
    assert.equal(parseConfig(minimalConfig(dir), "c.yaml", { baseDir: dir }).database.type, "sqlite");
    const lines = problemsOf(() => parseConfig(minimalConfig(dir, "database:\n  url: mysql://h/db\n"), "c.yaml", { baseDir: dir }));
    assert.ok(lines.some((l) => l.startsWith("database.url: is not a postgres:// URL")), lines.join("\n"));
    const missing = problemsOf(() => parseConfig(minimalConfig(dir, "database:\n  type: postgres\n"), "c.yaml", { baseDir: dir }));
    assert.ok(missing.some((l) => l.startsWith("database.url: is required when type is")), missing.join("\n"));
  });

  it("leaves provisioning off by default and requires a long shared secret to turn it on", () => {
    const dir = tempDir();
    assert.deepEqual(parseConfig(minimalConfig(dir), "c.yaml", { baseDir: dir }).provisioning, { enabled: false, listen: "127.0.0.1:29342" });
    const secret = "s".repeat(40);
    const on = parseConfig(minimalConfig(dir, "provisioning:\n  enabled: true\n  shared_secret: env:PROV\n"), "c.yaml", { baseDir: dir, env: { PROV: secret } });
    assert.equal(on.provisioning.shared_secret, secret);
    const missing = problemsOf(() => parseConfig(minimalConfig(dir, "provisioning:\n  enabled: true\n"), "c.yaml", { baseDir: dir }));
    assert.ok(missing.some((l) => l.startsWith("provisioning.shared_secret: is required when enabled is true")), missing.join("\n"));
    const short = problemsOf(() => parseConfig(minimalConfig(dir, "provisioning:\n  enabled: true\n  shared_secret: tooshort\n"), "c.yaml", { baseDir: dir }));
    assert.ok(short.some((l) => l.startsWith("provisioning.shared_secret: is shorter than 32 characters")), short.join("\n"));
    assert.ok(!short.join("\n").includes("tooshort"), "the secret is never echoed");
  });

  it("leaves metrics off by default and checks the listen address", () => {
    const dir = tempDir();
    assert.deepEqual(parseConfig(minimalConfig(dir), "c.yaml", { baseDir: dir }).metrics, { enabled: false, listen: "127.0.0.1:29341" });
    const on = parseConfig(minimalConfig(dir, "metrics:\n  enabled: true\n  listen: \"[::]:9100\"\n"), "c.yaml", { baseDir: dir });
    assert.deepEqual(on.metrics, { enabled: true, listen: "[::]:9100" });
    assert.deepEqual(parseListenAddress(on.metrics.listen), { host: "::", port: 9100 });
    assert.deepEqual(parseListenAddress("metrics.example.org:80"), { host: "metrics.example.org", port: 80 });
    for (const bad of ["29341", "0.0.0.0:0", "0.0.0.0:70000", ":::9100", "[nonsense]:1", "a b:1"]) {
      assert.equal(parseListenAddress(bad), null, bad);
      const lines = problemsOf(() => parseConfig(minimalConfig(dir, `metrics:\n  listen: "${bad}"\n`), "c.yaml", { baseDir: dir }));
      assert.ok(lines.some((l) => l.startsWith("metrics.listen: must be host:port to listen on")), lines.join("\n"));
    }
  });
});

describe("config secrets", () => {
  after(removeTempDirs);

  const withKey = (dir: string, key: string) => minimalConfig(dir).replace("file:./provider-key.pem", key);

  it("reads env: secrets from the environment", () => {
    const dir = tempDir();
    const pem = ed25519Pem();
    const config = parseConfig(withKey(dir, "env:MDB_TEST_KEY"), "c.yaml", { baseDir: dir, env: { MDB_TEST_KEY: pem } });
    assert.equal(config.gatekeeper.provider_key, pem.trim());
    assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, "env:MDB_TEST_KEY"), "c.yaml", { baseDir: dir, env: {} })), [
      "gatekeeper.provider_key: environment variable MDB_TEST_KEY is not set (line 10)",
    ]);
    assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, "env:1BAD"), "c.yaml", { baseDir: dir, env: {} })), [
      'gatekeeper.provider_key: names an invalid environment variable "1BAD" (expected env:NAME with letters, digits, _) (line 10)',
    ]);
  });

  it("reads file: secrets, trimmed, relative to the config file", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "keys"));
    const pem = ed25519Pem();
    writeFileSync(join(dir, "keys", "k.pem"), `\n${pem}\n\n`, { mode: 0o600 });
    writeFileSync(join(dir, "config.yaml"), withKey(dir, "file:keys/k.pem"));
    assert.equal(loadConfig(join(dir, "config.yaml")).gatekeeper.provider_key, pem.trim());

    const absolute = parseConfig(withKey(dir, `file:${join(dir, "keys", "k.pem")}`), "c.yaml", { baseDir: "/" });
    assert.equal(absolute.gatekeeper.provider_key, pem.trim());
  });

  it("reports missing, empty and unusable secret files, and never echoes a secret", () => {
    const dir = tempDir();
    const missing = join(dir, "missing.pem");
    assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, "file:./missing.pem"), "c.yaml", { baseDir: dir })), [
      `gatekeeper.provider_key: file ${missing} does not exist (line 10)`,
    ]);
    writeFileSync(join(dir, "empty.pem"), "  \n");
    assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, "file:./empty.pem"), "c.yaml", { baseDir: dir })), [
      `gatekeeper.provider_key: file ${join(dir, "empty.pem")} is empty (line 10)`,
    ]);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    writeFileSync(join(dir, "rsa.pem"), rsa, { mode: 0o600 });
    assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, "file:./rsa.pem"), "c.yaml", { baseDir: dir })), [
      "gatekeeper.provider_key: the key from file:./rsa.pem holds a rsa key, expected an Ed25519 key (line 10)",
    ]);
    const inline = problemsOf(() => parseConfig(withKey(dir, "hunter2-very-secret"), "c.yaml", { baseDir: dir }));
    assert.deepEqual(inline, ["gatekeeper.provider_key: the key is not a PEM-encoded private key (line 10)"]);
    for (const path of ["./provider.key", "/etc/bridge/provider-key.pem", "provider.pem"]) {
      assert.deepEqual(problemsOf(() => parseConfig(withKey(dir, path), "c.yaml", { baseDir: dir })), [
        `gatekeeper.provider_key: the key is not a PEM-encoded private key; did you mean file:${path}? (line 10)`,
      ]);
    }
    const wrongType = problemsOf(() => parseConfig(withKey(dir, "123456789"), "c.yaml", { baseDir: dir }));
    assert.deepEqual(wrongType, ["gatekeeper.provider_key: must be file:/path/to/key.pem, env:NAME or the PEM text itself (line 10)"]);
  });

  it("defers a missing secret file on request and refuses one that other users can read", () => {
    const dir = tempDir();
    const analysis = analyseConfig(withKey(dir, "file:./later.pem"), { baseDir: dir, deferMissingSecretFiles: true });
    assert.deepEqual(analysis.problems, []);
    assert.deepEqual(analysis.deferredFiles, [{ path: join(dir, "later.pem"), keyName: "gatekeeper.provider_key" }]);
    assert.match(analysis.notes[0]?.message ?? "", /does not exist yet; generate-registration creates it/);

    writeFileSync(join(dir, "open.pem"), ed25519Pem());
    chmodSync(join(dir, "open.pem"), 0o644);
    const open = analyseConfig(withKey(dir, "file:./open.pem"), { baseDir: dir });
    assert.equal(open.config, null);
    const path = join(dir, "open.pem");
    assert.deepEqual(open.problems.map((p) => p.message), [`file ${path} is readable by other users (mode 644); run: chmod 600 ${path}`]);
    chmodSync(path, 0o640);
    assert.match(analyseConfig(withKey(dir, "file:./open.pem"), { baseDir: dir }).problems[0]?.message ?? "", /mode 640/);
    chmodSync(path, 0o400);
    assert.ok(analyseConfig(withKey(dir, "file:./open.pem"), { baseDir: dir }).config);
  });
});

describe("config.sample.yaml", () => {
  it("is valid as shipped (only its provider key file is created later)", () => {
    const analysis = analyseConfigFile(join(REPO_ROOT, "config.sample.yaml"), { deferMissingSecretFiles: true, env: {} });
    assert.deepEqual(analysis.problems, []);
    assert.ok(analysis.config);
    assert.equal(analysis.config.homeserver.domain, "example.org");
    assert.equal(analysis.config.bridge.default_country, "DE");
    assert.deepEqual(analysis.config.bridge.permissions, { "example.org": "user", "@admin:example.org": "admin" });
  });
});
