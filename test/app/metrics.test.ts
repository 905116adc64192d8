// The metrics module on its own: names follow Prometheus conventions, the gatekeeper state gauge and reconnect
// counter follow the connection, and the Grafana dashboard asks only for metrics that exist.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BridgeMetrics } from "../../src/app/metrics.js";
import { repoRoot } from "../harness/repo-root.js";

describe("BridgeMetrics", () => {
  it("names counters _total and durations _seconds, all under bridge_", async () => {
    const metrics = new BridgeMetrics();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      assert.match(m.name, /^bridge_[a-z_]+$/);
      if (String(m.type) === "counter") assert.match(m.name, /_total$/, m.name);
      if (String(m.type) === "histogram") assert.match(m.name, /_seconds$/, m.name);
      assert.ok(m.help.length > 10, `${m.name} needs a help text`);
    }
  });

  it("follows the gatekeeper connection: one state at a time, a reconnect for every connection after the first", async () => {
    const metrics = new BridgeMetrics();
    const values = async () => {
      const text = await metrics.scrape();
      const state = [...text.matchAll(/^bridge_gatekeeper_connection_state\{state="(\w+)"\} 1$/gm)].map((m) => m[1]);
      const reconnects = Number(/^bridge_gatekeeper_reconnects_total (\d+)$/m.exec(text)![1]);
      return { state, reconnects };
    };
    assert.deepEqual(await values(), { state: ["idle"], reconnects: 0 });
    for (const s of ["connecting", "connected"] as const) metrics.gatekeeperState(s);
    assert.deepEqual(await values(), { state: ["connected"], reconnects: 0 });
    for (const s of ["waiting", "connecting", "connected", "waiting", "connecting", "connected"] as const) metrics.gatekeeperState(s);
    assert.deepEqual(await values(), { state: ["connected"], reconnects: 2 });
  });

  it("reads the store-backed gauges when scraped", async () => {
    const metrics = new BridgeMetrics();
    metrics.readFrom({ stats: { queue: async () => ({ depth: 4, oldestAgeSeconds: 2.5 }), portals: async () => 7, puppets: async () => 3 } as never, openCryptoMachines: () => 2 });
    const text = await metrics.scrape();
    assert.match(text, /^bridge_portals 7$/m);
    assert.match(text, /^bridge_puppets 3$/m);
    assert.match(text, /^bridge_crypto_machines_open 2$/m);
    assert.match(text, /^bridge_queue_depth\{queue="outbox"\} 4$/m);
    assert.match(text, /^bridge_queue_oldest_item_age_seconds\{queue="inbox"\} 2.5$/m);
  });

  it("has a Grafana dashboard that queries only metrics the bridge exports", async () => {
    const metrics = new BridgeMetrics();
    metrics.collectProcessMetrics();
    const exported = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(`${m.name}${suffix}`);
    }
    const dashboard = JSON.parse(readFileSync(join(repoRoot(), "docs", "grafana-dashboard.json"), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, panel.title);
      for (const { expr } of panel.targets) for (const [name] of expr.matchAll(/\b(?:bridge|process|nodejs)_[a-z_]+\b/g)) used.add(name);
    }
    for (const name of used) assert.ok(exported.has(name), `the dashboard queries ${name}, which is not exported`);
    for (const m of await new BridgeMetrics().registry.getMetricsAsJSON()) {
      assert.ok([...used].some((u) => u.startsWith(m.name)), `${m.name} is on no dashboard panel`);
    }
  });
});
