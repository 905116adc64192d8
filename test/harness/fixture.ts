import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateRegistration, loadRegistration, registrationMismatches, renderRegistration, type Registration } from "../../src/config/registration.js";
import type { BridgeConfig } from "../../src/config/schema.js";
import { registerCleanup } from "./cleanup.js";
import { makeTestConfig } from "./config.js";
import { freePort } from "./free-port.js";
import { startSynapse, type SynapseHandle } from "./synapse.js";

export interface TestEnv {
  synapse: SynapseHandle;
  /** A valid bridge config pointing at this Synapse; its appservice port is where the bridge under test listens. */
  config: BridgeConfig;
  /** The registration Synapse loaded (as_token, hs_token, namespaces). */
  registration: Registration;
  appservicePort: number;
  /** A fresh directory for this test process, removed after the run. */
  tmpDir: string;
}

/** Enough for a cold start of Synapse; building the Synapse root is done by the root hook beforehand. */
export const TEST_ENV_TIMEOUT_MS = 120_000;

let envPromise: Promise<TestEnv> | undefined;

/**
 * The shared Synapse and bridge config for this test process, started on first use and stopped by the mocha
 * root hook (test/harness/hooks.ts). Call it from a `before` hook with `this.timeout(TEST_ENV_TIMEOUT_MS)`.
 * A failed start is remembered, so every suite reports the same clear error instead of retrying.
 */
export function getTestEnv(): Promise<TestEnv> {
  if (envPromise === undefined) {
    envPromise = createTestEnv();
    registerCleanup(stopTestEnv);
  }
  return envPromise;
}

/** Stops the shared Synapse (if one was started) and removes the temporary directory. */
export async function stopTestEnv(): Promise<void> {
  const pending = envPromise;
  envPromise = undefined;
  if (pending === undefined) return;
  const env = await pending.catch(() => undefined);
  if (env === undefined) return;
  await env.synapse.stop();
  rmSync(env.tmpDir, { recursive: true, force: true });
}

async function createTestEnv(): Promise<TestEnv> {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), "mdb-test-"));
  try {
    return process.env["MDB_TEST_SYNAPSE_URL"] ? await useExternalSynapse(tmpDir) : await useOwnSynapse(tmpDir);
  } catch (err) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

async function useOwnSynapse(tmpDir: string): Promise<TestEnv> {
  const appservicePort = await freePort();
  const registrationPath = path.join(tmpDir, "registration.yaml");
  const base = { domain: "localhost", appservicePort, registrationPath, dataDir: tmpDir };
  // The registration does not depend on the homeserver URL, which is only known once Synapse has a port.
  const registration = generateRegistration(makeTestConfig({ ...base, homeserverUrl: "http://127.0.0.1:9" }));
  const registrationYaml = renderRegistration(registration);
  writeFileSync(registrationPath, registrationYaml, { mode: 0o600 });
  const synapse = await startSynapse({ registrationYaml });
  try {
    const config = makeTestConfig({ ...base, homeserverUrl: synapse.url, domain: synapse.serverName });
    return { synapse, config, registration, appservicePort, tmpDir };
  } catch (err) {
    await synapse.stop();
    throw err;
  }
}

/** The external Synapse loaded a registration of its own; the test config is derived from it and checked. */
async function useExternalSynapse(tmpDir: string): Promise<TestEnv> {
  const synapse = await startSynapse({ registrationYaml: "" });
  const registration = loadRegistration(synapse.registrationPath);
  const pushUrl = new URL(registration.url);
  const appservicePort = Number(pushUrl.port || 80);
  // A Synapse in a container reaches the bridge through some other address than loopback.
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(pushUrl.hostname);
  const config = makeTestConfig({
    homeserverUrl: synapse.url,
    domain: synapse.serverName,
    appservicePort,
    registrationPath: synapse.registrationPath,
    dataDir: tmpDir,
    overrides: {
      appservice: {
        id: registration.id,
        url: registration.url,
        bind_address: loopback ? "127.0.0.1" : "0.0.0.0",
        bot_localpart: registration.sender_localpart,
      },
    },
  });
  const mismatches = registrationMismatches(config, registration);
  if (mismatches.length > 0) {
    throw new Error(
      `the registration ${synapse.registrationPath} does not fit the test config (puppets wa_{digits} on ` +
        `${synapse.serverName}):\n  ${mismatches.join("\n  ")}`,
    );
  }
  return { synapse, config, registration, appservicePort, tmpDir };
}
