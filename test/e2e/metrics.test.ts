// Prometheus metrics during an end-to-end run (encrypted portals, the product default): /metrics is scraped before
// and after known traffic, and each counter must have moved by exactly what the traffic was.
import assert from "node:assert/strict";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { freePort } from "../harness/free-port.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915712345678";
const BEN = "+4915733333333";

type Samples = Map<string, number>;

/** Parses the text exposition format into "name{a="x",b="y"}" -> value, labels sorted by name. */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels = [...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(labels.length ? `${match[1]}{${labels.join(",")}}` : match[1]!, Number(match[3]));
  }
  return samples;
}

function sample(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  const keys = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return samples.get(keys.length ? `${name}{${keys.join(",")}}` : name) ?? 0;
}

describe("metrics during an end-to-end run (encrypted portals)", function () {
  this.timeout(180_000);
  let w: World;
  let metricsUrl: string;
  let failed = false;

  const scrape = async () => {
    const response = await fetch(metricsUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    return parseMetrics(await response.text());
  };
  const until = async (what: string, probe: (s: Samples) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await scrape();
      if (probe(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    w = await startWorld(
      "malice",
      [{ phone: ANNA, name: "Anna" }, { phone: BEN, name: "Ben" }],
      { bridge: { encryption: { default: true, allow: true } }, metrics: { enabled: true, listen: `127.0.0.1:${port}` } },
      undefined,
      true,
    );
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  it("serves /metrics on its own listener, and nothing else there", async () => {
    const s = await scrape();
    for (const name of ["process_resident_memory_bytes", "nodejs_heap_size_used_bytes", "bridge_portals", "bridge_puppets", "bridge_crypto_machines_open"]) {
      assert.ok([...s.keys()].some((k) => k === name || k.startsWith(`${name}{`)), `${name} is missing`);
    }
    for (const queue of ["matrix_inbound", "outbox", "inbox"]) {
      assert.ok(s.has(`bridge_queue_depth{queue="${queue}"}`), `queue depth of ${queue}`);
      assert.ok(s.has(`bridge_queue_oldest_item_age_seconds{queue="${queue}"}`));
    }
    assert.ok(sample(s, "process_resident_memory_bytes") > 10_000_000);
    assert.equal((await fetch(metricsUrl.replace("/metrics", "/ready"))).status, 404);
    assert.equal((await fetch(metricsUrl.replace("/metrics", "/metrics/"))).status, 400);
  });

  it("counts messages, failures, transactions and crypto operations as the traffic happened", async () => {
    const { user: alice, gk, bot, userUri } = w;
    const s0 = await until("the gatekeeper connection", (s) => sample(s, "bridge_gatekeeper_connection_state", { state: "connected" }) === 1);
    assert.equal(sample(s0, "bridge_gatekeeper_connection_state", { state: "waiting" }), 0);
    assert.ok(sample(s0, "bridge_crypto_store_open_duration_seconds_count") >= 1, "the bot's crypto store was loaded");
    assert.ok(sample(s0, "bridge_crypto_machines_open") >= 1);

    const mgmt = await alice.createEncryptedDm(bot);
    await alice.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === bot && String(e.content.body).includes("start-chat"), 30_000);
    await alice.waitForMember(mgmt, bot);
    await alice.sendText(mgmt, `start-chat ${ANNA}`);
    const room = await alice.acceptInviteFrom(w.puppet(ANNA), 30_000);
    await alice.waitForMember(room, w.puppet(ANNA));

    const before = await scrape();
    const out = (kind: string) => sample(before, "bridge_messages_total", { direction: "matrix_to_remote", kind });
    const into = (kind: string) => sample(before, "bridge_messages_total", { direction: "remote_to_matrix", kind });

    for (const text of ["one", "two", "three"]) {
      await alice.sendText(room, text);
      await gk.waitForMessage(ANNA, (m) => (m.content as { message?: { conversation?: string } }).message?.conversation === text, 20_000);
    }
    const firstId = await gk.sendAs(ANNA, { to: userUri, text: "hi" });
    await alice.waitForEvent("Anna's first", (e) => e.roomId === room && e.content.body === "hi");
    await gk.sendAs(ANNA, { to: userUri, text: "there" });
    await alice.waitForEvent("Anna's second", (e) => e.roomId === room && e.content.body === "there");
    await gk.sendAs(ANNA, { to: userUri, react: { id: firstId, emoji: "👍" } });
    await alice.waitForEvent("Anna's reaction", (e) => e.roomId === room && e.type === "m.reaction");

    const after = await until("the counters to settle", (s) =>
      sample(s, "bridge_messages_total", { direction: "matrix_to_remote", kind: "message" }) - out("message") >= 3 &&
      sample(s, "bridge_messages_total", { direction: "remote_to_matrix", kind: "reaction" }) - into("reaction") >= 1,
    );
    assert.equal(sample(after, "bridge_messages_total", { direction: "matrix_to_remote", kind: "message" }) - out("message"), 3);
    assert.equal(sample(after, "bridge_messages_total", { direction: "remote_to_matrix", kind: "message" }) - into("message"), 2);
    assert.equal(sample(after, "bridge_messages_total", { direction: "remote_to_matrix", kind: "reaction" }) - into("reaction"), 1);

    const encrypts = (s: Samples) => sample(s, "bridge_crypto_operation_duration_seconds_count", { operation: "megolm_encrypt", outcome: "ok" });
    const decrypts = (s: Samples) => sample(s, "bridge_crypto_operation_duration_seconds_count", { operation: "megolm_decrypt", outcome: "decrypted" });
    // Anna's two messages and the reaction were encrypted by her puppet; alice's three messages decrypted by the bridge.
    assert.ok(encrypts(after) - encrypts(before) >= 3, `megolm encryptions: ${encrypts(after) - encrypts(before)}`);
    assert.ok(decrypts(after) - decrypts(before) >= 3, `megolm decryptions: ${decrypts(after) - decrypts(before)}`);
    const txns = (s: Samples) => sample(s, "bridge_appservice_transaction_duration_seconds_count");
    assert.ok(txns(after) - txns(before) >= 3, "each of alice's messages came in a transaction");
    assert.ok(sample(after, "bridge_appservice_items_total", { kind: "event" }) - sample(before, "bridge_appservice_items_total", { kind: "event" }) >= 3);
    assert.ok(sample(after, "bridge_portals") >= 1);
    assert.ok(sample(after, "bridge_puppets") >= 1);
    assert.equal(sample(after, "bridge_queue_depth", { queue: "outbox" }), 0);

    // A refusal by the gatekeeper is a failure with its reason; nothing counts as bridged.
    await gk.admin.block(ANNA, userUri);
    await alice.sendText(room, "blocked one");
    const refused = await until("the refusal to be counted", (s) => sample(s, "bridge_message_failures_total", { direction: "matrix_to_remote", reason: "blocked" }) > sample(after, "bridge_message_failures_total", { direction: "matrix_to_remote", reason: "blocked" }));
    assert.equal(sample(refused, "bridge_message_failures_total", { direction: "matrix_to_remote", reason: "blocked" }) - sample(after, "bridge_message_failures_total", { direction: "matrix_to_remote", reason: "blocked" }), 1);
    assert.equal(sample(refused, "bridge_messages_total", { direction: "matrix_to_remote", kind: "message" }), sample(after, "bridge_messages_total", { direction: "matrix_to_remote", kind: "message" }));
  });

  it("counts a reconnect to the gatekeeper", async () => {
    const before = await scrape();
    await w.gk.restart({ samePort: true });
    const after = await until("the reconnect", (s) => sample(s, "bridge_gatekeeper_reconnects_total") > sample(before, "bridge_gatekeeper_reconnects_total") && sample(s, "bridge_gatekeeper_connection_state", { state: "connected" }) === 1, 60_000);
    assert.equal(sample(after, "bridge_gatekeeper_reconnects_total") - sample(before, "bridge_gatekeeper_reconnects_total"), 1);
  });
});
