// The short CI budget of `npm run fuzz`: every decoder gets a few seconds of generated and mutated inputs (the first
// ones coverage-guided) in a worker thread under the watchdog, and must give only values or its typed errors, never
// hang, never exceed the time limit per input. The planted targets show that each kind of failure is reported.
// FUZZ_SEED=<seed> replays a run; FUZZ_SECONDS raises the budget per target.
import assert from "node:assert/strict";
import { runInWorker } from "../../bench/fuzz/runner.js";
import { TARGETS } from "../../bench/fuzz/targets.js";

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 2);
const planted = new URL("./planted-targets.js", import.meta.url).href;

describe(`npm run fuzz, short budget (FUZZ_SEED=${SEED})`, function () {
  this.timeout(60_000);

  for (const name of Object.keys(TARGETS)) {
    it(`${name}: ${SECONDS} s of inputs, no finding`, async () => {
      const report = await runInWorker({ target: name, iterations: 1_000_000, maxSeconds: SECONDS, seed: SEED, guided: 300, slowMs: 2000, maxFindings: 3 }, 15_000);
      const findings = report.findings.map((f) => `${f.kind} at input ${f.iteration}: ${f.message}\n  input: ${f.input.slice(0, 300)}`);
      assert.deepEqual(findings, [], `FUZZ_SEED=${SEED}`);
      assert.deepEqual(report.harnessErrors, {}, "the fuzzer's own mutators failed");
      // Inputs that all end the same way would prove little: the mutations must reach past the first check.
      assert.ok(Object.keys(report.outcomes).length >= 2, `only saw ${Object.keys(report.outcomes).join(", ")}`);
      assert.ok(report.coverage && report.coverage.blocks > 0, "coverage feedback saw no blocks of the code under test");
    });
  }
});

describe("npm run fuzz reports what it finds", function () {
  this.timeout(60_000);
  const run = (target: string, hangMs = 15_000) => runInWorker({ target, targetModule: planted, iterations: 20_000, seed: 7, guided: 0, slowMs: 200, maxFindings: 1 }, hangMs);

  it("a crash (an error that is not the decoder's own), with the input", async () => {
    const report = await run("planted-crash");
    assert.equal(report.findings.length, 1);
    const [f] = report.findings;
    assert.equal(f!.kind, "crash");
    assert.match(f!.message, /TypeError/);
    assert.ok(Buffer.from(f!.input, "hex").some((b) => b >= 0xf0), "the reported input is the one that crashes");
  });

  it("a hang: the watchdog terminates the worker and names the input it was stuck on", async () => {
    const report = await run("planted-hang", 1500);
    assert.equal(report.findings.length, 1);
    const [f] = report.findings;
    assert.equal(f!.kind, "hang");
    assert.ok(Buffer.from(f!.input, "hex").some((b) => b >= 0xf0), "the reported input is the one that hangs");
  });

  it("an input over the time limit", async () => {
    const report = await run("planted-slow");
    assert.equal(report.findings[0]?.kind, "slow");
    assert.match(report.findings[0]!.message, /limit 200 ms/);
  });
});
