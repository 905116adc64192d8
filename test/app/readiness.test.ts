// Readiness: what /ready reports at each stage of start-up, and that unauthenticated callers cannot make the bridge
// probe the homeserver more than once per cache window.
import assert from "node:assert/strict";
import { Readiness } from "../../src/app/readiness.js";

describe("Readiness", () => {
  function setup() {
    const state = { now: 0, probes: 0, answers: true, gatekeeper: "connecting" };
    let release: (() => void) | undefined;
    const readiness = new Readiness({
      probeHomeserver: async () => {
        state.probes++;
        if (release === undefined) return state.answers;
        await new Promise<void>((r) => (release = r));
        return state.answers;
      },
      gatekeeperState: () => state.gatekeeper,
      probeCacheMs: 5_000,
      now: () => state.now,
    });
    return { state, readiness, hold: () => (release = () => undefined), release: () => release?.() };
  }

  it("is not ready until the database, the start-up and the gatekeeper are", async () => {
    const { state, readiness } = setup();
    let report = await readiness.report();
    assert.deepEqual(report.checks.database, { ok: false, detail: "opening the database and running migrations" });
    assert.equal(report.checks.homeserver.ok, false);
    assert.equal(state.probes, 0, "no probe before start-up has reached the homeserver");

    readiness.databaseOpened();
    readiness.waitingForHomeserver("waiting for the homeserver at http://hs to answer");
    report = await readiness.report();
    assert.deepEqual(report.checks.homeserver, { ok: false, detail: "waiting for the homeserver at http://hs to answer" });

    readiness.markStarted();
    report = await readiness.report();
    assert.deepEqual(report.checks.homeserver, { ok: true });
    assert.deepEqual(report.checks.gatekeeper, { ok: false, detail: "connection connecting" });
    assert.equal(report.ready, false);

    state.gatekeeper = "connected";
    report = await readiness.report();
    assert.deepEqual(report, { ready: true, started: true, checks: { database: { ok: true }, homeserver: { ok: true }, gatekeeper: { ok: true } } });
  });

  it("probes the homeserver at most once per cache window, and shares a probe in flight", async () => {
    const { state, readiness, hold, release } = setup();
    readiness.databaseOpened();
    readiness.markStarted();
    await readiness.report();
    await readiness.report();
    assert.equal(state.probes, 1);

    state.now = 5_001;
    state.answers = false;
    hold();
    const reports = Promise.all([readiness.report(), readiness.report(), readiness.report()]);
    await new Promise((r) => setImmediate(r));
    release();
    for (const report of await reports) assert.deepEqual(report.checks.homeserver, { ok: false, detail: "the homeserver does not answer" });
    assert.equal(state.probes, 2);

    // A probe made by the start-up wait counts as fresh too.
    state.now = 20_000;
    readiness.homeserverAnswered(true);
    assert.deepEqual((await readiness.report()).checks.homeserver, { ok: true });
    assert.equal(state.probes, 2);
  });
});
