// Mocha root hooks (loaded through .mocharc.json "require"): build the Synapse root before the first test, and
// run the registered cleanups (the shared Synapse) after the last one.
import { runCleanups } from "./cleanup.js";
import { harnessLog } from "./log.js";
import { canRunLocalSynapse, ensureSynapseRoot } from "./synapse-root.js";

/** The first build of the Synapse root downloads and installs Debian packages. */
const PROVISION_TIMEOUT_MS = 20 * 60_000;

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    // Done here, under a long timeout, so no test's own timeout has to cover a first-time build. With an
    // external Synapse, or without root, there is nothing to build.
    if (process.env["MDB_TEST_SYNAPSE_URL"] || !canRunLocalSynapse()) return;
    this.timeout(PROVISION_TIMEOUT_MS);
    try {
      await ensureSynapseRoot();
    } catch (err) {
      // Tests that need no Synapse should still run; those that do fail in getTestEnv with this same error.
      harnessLog.error({ err }, "building the Synapse root failed; Matrix tests will fail");
    }
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await runCleanups();
  },
};
