// A real `dma-gatekeeper serve` child process for the interop client's tests, with its admin client, and a
// provider key enlisted for the bridge's domain.
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GatekeeperAdminClient } from "../../src/gatekeeper/admin-client.js";
import { readAdminToken } from "../../src/gatekeeper/admin-token.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../src/gatekeeper/cli.js");

export interface GatekeeperProcess {
  /** The interop endpoint (and token audience). */
  url: string;
  port: number;
  /** The admin API, on its own loopback port. */
  adminUrl: string;
  adminPort: number;
  dataDir: string;
  pid: number;
  admin: GatekeeperAdminClient;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** Recent stderr lines, for failure messages. */
  logs(): string;
}

export async function startGatekeeperProcess(
  options: { dataDir?: string; port?: number; adminPort?: number; args?: string[] } = {},
): Promise<GatekeeperProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "mdb-gk-"));
  const child = spawn(
    process.execPath,
    [CLI, "serve", "--port", String(options.port ?? 0), "--admin-port", String(options.adminPort ?? 0), "--data-dir", dataDir, "--log-format", "json", "--log-level", "debug", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const stderr: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`gatekeeper did not start:\n${stderr.join("")}`)), 20_000);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /dma-gatekeeper listening on (\S+) \(admin API on (\S+)\)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve([match[1]!, match[2]!]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gatekeeper exited with ${code}:\n${stderr.join("")}`));
    });
  });
  const admin = new GatekeeperAdminClient(adminUrl, readAdminToken(join(dataDir, "admin-token")));
  return {
    url,
    port: Number(new URL(url).port),
    adminUrl,
    adminPort: Number(new URL(adminUrl).port),
    dataDir,
    pid: child.pid!,
    admin,
    stop: () => stopChild(child),
    logs: () => stderr.join(""),
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface ProviderKey {
  privateKey: KeyObject;
  publicKey: string; // raw 32 bytes, base64url, as the gatekeeper enlists it
}

export function newProviderKey(): ProviderKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" });
  return { privateKey, publicKey: jwk.x! };
}

/** Polls `read` until `done` holds for its value, or fails after `timeoutMs` with the last value. */
export async function eventually<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const start = Date.now();
  let last: T;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last, bigintSafe)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? String(value) : value;
}
