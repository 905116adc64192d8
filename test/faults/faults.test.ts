// The short CI run of the fault-injection suite (run.ts; the long one is `npm run faults`): two minutes of traffic
// both ways through plain and encrypted portals, with bridge SIGKILLs, gatekeeper kills, a SIGSTOP of the bridge past
// Synapse's transaction timeout and a Synapse restart. Nothing may be lost, duplicated, reordered or undecryptable.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { formatReport, problemsOf, runFaults } from "./run.js";

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);

describe(`fault injection, short run (FAULTS_SEED=${SEED})`, function () {
  it("accounts for every message through bridge SIGKILLs, gatekeeper kills, a SIGSTOP and a Synapse restart", async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 15 * 60_000);
    const report = await runFaults({
      seconds: 150,
      seed: SEED,
      faults: { "bridge-sigkill": 3, "gatekeeper-kill": 3, "bridge-sigstop": 1, "synapse-restart": 1 },
      stopSeconds: 65,
      // Progress only when asked; what was lost or duplicated (and where it got to) always, with the report.
      say: (line) => (process.env.FAULTS_VERBOSE || /^(lost|duplicate)/.test(line)) && console.log(`      ${line}`),
    });
    console.log(formatReport(report).replace(/^/gm, "      "));
    assert.deepEqual(problemsOf(report), []);
    assert.equal(report.faults.length, 8, "every planned fault was injected");
    assert.ok(report.summary.sent > 500, `enough traffic to mean something (${report.summary.sent} messages)`);
  });
});
