// Real files in fresh temporary directories, and a small valid config to start from.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mdb-config-"));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function ed25519Pem(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** Writes provider-key.pem into `dir` and returns a minimal valid config text pointing at it. */
export function minimalConfig(dir: string, extra = ""): string {
  writeFileSync(join(dir, "provider-key.pem"), ed25519Pem(), { mode: 0o600 });
  return `homeserver:
  url: http://127.0.0.1:8008
  domain: example.org
bridge:
  permissions:
    "example.org": user
gatekeeper:
  url: http://127.0.0.1:29400
  provider_id: matrix-example-org
  provider_key: file:./provider-key.pem
${extra}`;
}
