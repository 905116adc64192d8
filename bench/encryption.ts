// Whether the encrypted case (`--encrypted`) can run in this build. It needs Matrix E2EE in the bridge (issue 5,
// src/matrix/crypto/) and a Matrix user on the benchmark's side that encrypts and decrypts; until both exist the
// flag fails up front with the reason instead of measuring unencrypted portals under an encrypted label.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const BRIDGE_CRYPTO = fileURLToPath(new URL("../src/matrix/crypto/", import.meta.url));

/** Null when encrypted portals can be benchmarked; otherwise why not. */
export function encryptedScenarioProblem(): string | null {
  if (!existsSync(BRIDGE_CRYPTO)) {
    return "--encrypted needs Matrix end-to-end encryption in the bridge (issue 5, src/matrix/crypto/), which this build does not have yet";
  }
  return (
    "--encrypted: the bridge has Matrix E2EE now, but the benchmark's Matrix users (bench/synapse-user.ts, " +
    "bench/fake-homeserver-user.ts) do not encrypt yet; see docs/benchmarks.md, \"The encrypted case\""
  );
}
