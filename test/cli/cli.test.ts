// Runs the compiled CLI as a child process against real files, as an operator would.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse } from "yaml";
import { providerPublicKey } from "../../src/config/provider-key.js";
import type { Registration } from "../../src/config/registration.js";
import { ed25519Pem, minimalConfig, removeTempDirs, tempDir } from "../config/fixtures.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? tempDir(),
      env: { PATH: process.env.PATH ?? "", ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failure = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof failure.code !== "number") throw err;
    return { code: failure.code, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

function assertNoStackTrace(result: Result): void {
  assert.doesNotMatch(result.stdout + result.stderr, /^\s+at /m);
}

function readRegistration(path: string): Registration {
  return parse(readFileSync(path, "utf8")) as Registration;
}

describe("matrix-dma-bridge CLI", () => {
  after(removeTempDirs);

  it("is an executable node script", () => {
    assert.match(readFileSync(CLI, "utf8"), /^#!\/usr\/bin\/env node\n/);
  });

  it("prints help and version", async () => {
    const help = await cli(["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: matrix-dma-bridge <command>/);
    assert.match(help.stdout, /generate-registration/);
    const version = await cli(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(version.stdout.trim(), pkg.version);
  });

  it("rejects usage mistakes with exit code 2 and no stack trace", async () => {
    for (const [args, message] of [
      [[], /error: no command given/],
      [["frob"], /error: unknown command "frob"; expected one of: start, generate-registration, check-config/],
      [["check-config", "--bogus"], /error: Unknown option '--bogus'/],
      [["check-config", "--rotate"], /error: --rotate only applies to generate-registration/],
      [["start", "extra"], /error: unexpected argument "extra"/],
      [["check-config", "-c"], /error: Option '-c, --config <value>' argument missing/],
    ] as const) {
      const result = await cli([...args]);
      assert.equal(result.code, 2, `exit code for ${args.join(" ")}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Run matrix-dma-bridge --help for usage/);
      assertNoStackTrace(result);
    }
  });

  it("check-config prints all three mistakes with their key paths and exits 2", async () => {
    const dir = tempDir();
    const text = minimalConfig(dir)
      .replace("bridge:\n", 'appservice:\n  port: "abc"\n  bot_name: bridgebot\nbridge:\n  puppet_localpart_template: "WhatsApp-{digits}"\n');
    writeFileSync(join(dir, "config.yaml"), text);
    const result = await cli(["check-config", "-c", "config.yaml"], { cwd: dir });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines[0], "error: config.yaml is not valid (3 problems):");
    assert.deepEqual(lines.slice(1), [
      '  appservice.port: must be an integer 1-65535, got "abc" (line 5)',
      "  appservice.bot_name: unknown key; expected one of: id, bind_address, port, url, registration, bot_localpart, bot_displayname (line 6)",
      '  bridge.puppet_localpart_template: must yield a Matrix localpart (lowercase a-z, 0-9 and . _ = - / +), but gives "WhatsApp-4915112345678" for +4915112345678 (line 8)',
    ]);
    assertNoStackTrace(result);
  });

  it("check-config accepts config.sample.yaml as shipped, noting what generate-registration will create", async () => {
    const result = await cli(["check-config", "-c", join(REPO_ROOT, "config.sample.yaml")]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "config OK\n");
    if (!existsSync(join(REPO_ROOT, "provider-key.pem"))) {
      assert.match(result.stderr, /note: gatekeeper\.provider_key: file .*provider-key\.pem does not exist yet; generate-registration creates it/);
    }
  });

  it("check-config reports a missing config file and a missing env: secret", async () => {
    const missing = await cli(["check-config", "-c", "nope.yaml"]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /config file .*nope\.yaml does not exist/);

    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir).replace("file:./provider-key.pem", "env:MDB_PROVIDER_KEY"));
    const unset = await cli(["check-config"], { cwd: dir });
    assert.equal(unset.code, 2, unset.stderr);
    assert.match(unset.stderr, /gatekeeper\.provider_key: environment variable MDB_PROVIDER_KEY is not set/);
    const set = await cli(["check-config"], { cwd: dir, env: { MDB_PROVIDER_KEY: ed25519Pem() } });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "config OK\n");
  });

  it("generate-registration creates the provider key, keeps tokens on a rerun and replaces them with --rotate", async () => {
    const dir = tempDir();
    copyFileSync(join(REPO_ROOT, "config.sample.yaml"), join(dir, "config.yaml"));
    const registrationPath = join(dir, "registration.yaml");
    const keyPath = join(dir, "provider-key.pem");

    const first = await cli(["generate-registration", "-c", "config.yaml", "-f", "registration.yaml"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(statSync(keyPath).mode & 0o777, 0o600);
    const publicKey = providerPublicKey(readFileSync(keyPath, "utf8"));
    assert.match(first.stdout, new RegExp(`created provider key ${keyPath}`));
    assert.ok(first.stdout.includes(`: ${publicKey}\n`), first.stdout);
    assert.ok(first.stdout.includes(`\n  dma-gatekeeper provider add --id matrix-example-org --public-key ${publicKey} --domain example.org\n`), first.stdout);
    assert.match(first.stdout, /wrote .*registration\.yaml \(new tokens\)/);
    assert.equal(statSync(registrationPath).mode & 0o777, 0o600);
    const original = readRegistration(registrationPath);
    assert.match(original.as_token, /^[A-Za-z0-9_-]{64}$/);
    assert.match(original.hs_token, /^[A-Za-z0-9_-]{64}$/);
    assert.equal(original.url, "http://127.0.0.1:29340");
    assert.equal(original.sender_localpart, "whatsappbot");
    const regexes = original.namespaces.users.map((entry) => new RegExp(entry.regex));
    const claimed = (userId: string) => regexes.some((regex) => regex.test(userId));
    assert.ok(claimed("@wa_4915112345678:example.org"));
    assert.ok(claimed("@whatsappbot:example.org"));
    assert.ok(!claimed("@alice:example.org"));

    const second = await cli(["generate-registration", "-c", "config.yaml", "-f", "registration.yaml"], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /\(tokens kept\)/);
    assert.ok(second.stdout.includes(`provider public key: ${publicKey}`));
    const kept = readRegistration(registrationPath);
    assert.equal(kept.as_token, original.as_token);
    assert.equal(kept.hs_token, original.hs_token);

    const rotated = await cli(["generate-registration", "-c", "config.yaml", "--rotate"], { cwd: dir });
    assert.equal(rotated.code, 0, rotated.stderr);
    const replaced = readRegistration(registrationPath);
    assert.notEqual(replaced.as_token, original.as_token);
    assert.notEqual(replaced.hs_token, original.hs_token);
    // The key was not regenerated: the gatekeeper still knows it.
    assert.equal(providerPublicKey(readFileSync(keyPath, "utf8")), publicKey);

    const checked = await cli(["check-config", "-c", "config.yaml"], { cwd: dir });
    assert.equal(checked.code, 0, checked.stderr);
    assert.equal(checked.stderr, "");
  });

  it("generate-registration refuses to drop tokens from an unreadable registration unless --rotate", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir));
    writeFileSync(join(dir, "registration.yaml"), "id: [broken\n");
    const refused = await cli(["generate-registration"], { cwd: dir });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /YAML syntax error/);
    assert.match(refused.stderr, /pass --rotate to replace them/);
    assert.equal(readFileSync(join(dir, "registration.yaml"), "utf8"), "id: [broken\n");
    const rotated = await cli(["generate-registration", "--rotate"], { cwd: dir });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(readRegistration(join(dir, "registration.yaml")).as_token, /^[A-Za-z0-9_-]{64}$/);
  });

  it("generate-registration notes when it writes somewhere the bridge will not read", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir));
    const result = await cli(["generate-registration", "-f", "elsewhere.yaml"], { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /note: the bridge reads its registration from .*registration\.yaml \(appservice\.registration\); point that key at .*elsewhere\.yaml/);
  });

  it("check-config and start refuse a registration that no longer matches the config", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir));
    assert.equal((await cli(["generate-registration"], { cwd: dir })).code, 0);
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir, "appservice:\n  port: 30001\n"));
    for (const command of ["check-config", "start"]) {
      const result = await cli([command], { cwd: dir });
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.match(result.stderr, /registration\.yaml does not match config\.yaml; run generate-registration and restart the homeserver/);
      assert.match(result.stderr, /url: the registration has "http:\/\/127\.0\.0\.1:29340", the config gives "http:\/\/127\.0\.0\.1:30001"/);
      assertNoStackTrace(result);
    }
  });

  it("start refuses to run without a registration or with a missing provider key", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir));
    const noRegistration = await cli(["start"], { cwd: dir });
    assert.equal(noRegistration.code, 2, noRegistration.stderr);
    assert.match(noRegistration.stderr, /registration file .*registration\.yaml does not exist; create it with generate-registration/);

    writeFileSync(join(dir, "config.yaml"), minimalConfig(dir).replace("file:./provider-key.pem", "file:./absent.pem"));
    const noKey = await cli(["start", "-c", "config.yaml"], { cwd: dir });
    assert.equal(noKey.code, 2, noKey.stderr);
    assert.match(noKey.stderr, /gatekeeper\.provider_key: file .*absent\.pem does not exist/);
    assertNoStackTrace(noKey);
  });
});
