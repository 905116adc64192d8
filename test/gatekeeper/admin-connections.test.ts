// The admin API's connection cap is set with `serve --admin-max-connections`: every watched user holds a connection,
// so a harness watching many users raises it, and past the cap a connection is refused (the cap still holds).
import assert from "node:assert/strict";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";

describe("gatekeeper admin API connection cap", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  const watches = new AbortController();

  before(async () => {
    gk = await GatekeeperProcess.start({ adminMaxConnections: 3, logLevel: "warn" });
    await gk.addUser("+4915112345678", "Anna");
  });

  after(async () => {
    watches.abort();
    await gk?.stop();
  });

  it("holds as many watch streams as configured and refuses the next connection", async () => {
    const open = async () => {
      const res = await fetch(`${gk.adminUrl}/admin/users/${encodeURIComponent("+4915112345678")}/watch`, { headers: { authorization: `Bearer ${gk.adminToken}` }, signal: watches.signal });
      assert.equal(res.status, 200);
      return res;
    };
    // Each stream stays open (server-sent events), so each holds its connection.
    const streams = [await open(), await open(), await open()];
    assert.equal(streams.length, 3);
    await assert.rejects(
      fetch(`${gk.adminUrl}/admin/users`, { headers: { authorization: `Bearer ${gk.adminToken}` }, signal: AbortSignal.timeout(10_000) }),
      "a fourth connection was accepted although the cap is 3",
    );
  });

  it("refuses a cap below one", async () => {
    await assert.rejects(GatekeeperProcess.start({ adminMaxConnections: 0, startTimeoutMs: 10_000 }), /admin-max-connections must be at least 1/);
  });
});
