// PrekeysLow and DevicesChanged for a provider that is offline, or whose connection dies before it reads them: the
// reference gatekeeper (a real process) keeps them on disk and sends them when the provider connects, until the
// provider's WebSocket has answered a ping sent after them. Each user's latest notice of a kind replaces the last.
import assert from "node:assert/strict";
import WebSocket from "ws";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import type { ServerFrame } from "../../src/protocol/gen/interop_pb.js";
import { ProviderConnection, TestProvider, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const BEN = "+4915187654321";
const tel = (e164: string) => `tel:${e164}`;

type Notice = { kind: "devicesChanged"; user: string; devices: number[] } | { kind: "prekeysLow"; user: string; remaining: number };

function notices(conn: ProviderConnection): Notice[] {
  return conn.frames.flatMap((f: ServerFrame): Notice[] => {
    if (f.kind.case === "devicesChanged") return [{ kind: "devicesChanged", user: f.kind.value.user, devices: [...f.kind.value.devices] }];
    if (f.kind.case === "prekeysLow") return [{ kind: "prekeysLow", user: f.kind.value.user, remaining: f.kind.value.remaining }];
    return [];
  });
}

async function until<T>(what: string, probe: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("notices for an offline provider are queued durably", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let alice: TestMatrixUser;
  const open: ProviderConnection[] = [];

  const connect = async (options: { autoPong?: boolean } = {}) => {
    const ws = new WebSocket(`${gk.url.replace(/^http/, "ws")}/v1/ws`, { headers: { authorization: `Bearer ${await provider.token()}` }, autoPong: options.autoPong ?? true });
    const conn = new ProviderConnection(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    open.push(conn);
    return conn;
  };
  const pendingNotices = async () => (await gk.admin.providers())[0]!.notices;

  before(async () => {
    gk = await GatekeeperProcess.start({ prekeyLow: 10 });
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna");
    await gk.addUser(BEN, "Ben", { devices: 2 });
    alice = await provider.user("alice");
    await alice.uploadKeys(12);
  });
  after(async () => {
    for (const c of open) await c.close();
    await gk?.stop();
  });

  it("sends a device change made while the provider was offline when it connects, and once read, never again", async () => {
    await gk.addDevice(ANNA);
    await gk.removeDevice(BEN, 2);
    assert.equal(await pendingNotices(), 2);

    const conn = await connect();
    await until("both notices", () => notices(conn), (n) => n.length >= 2);
    assert.deepEqual(
      notices(conn).sort((a, b) => a.user.localeCompare(b.user)),
      [
        { kind: "devicesChanged", user: tel(ANNA), devices: [1, 2] },
        { kind: "devicesChanged", user: tel(BEN), devices: [1] },
      ].sort((a, b) => a.user.localeCompare(b.user)),
    );
    // The provider's WebSocket answered the ping behind them: read, so off the list.
    await until("the notices cleared", pendingNotices, (n) => n === 0);
    await conn.close();

    const again = await connect();
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(notices(again), [], "nothing is sent twice once read");
    await again.close();
  });

  it("keeps only the latest device list of a user, and keeps it across a gatekeeper crash", async () => {
    await gk.addDevice(BEN); // [1, 3]
    await gk.addDevice(BEN); // [1, 3, 4]
    assert.equal(await pendingNotices(), 1, "one notice per user and kind");
    await gk.crash();
    await gk.restart({ samePort: true });
    const conn = await connect();
    await until("the notice", () => notices(conn), (n) => n.length >= 1);
    assert.deepEqual(notices(conn), [{ kind: "devicesChanged", user: tel(BEN), devices: [1, 3, 4] }]);
    await until("the notice cleared", pendingNotices, (n) => n === 0);
    await conn.close();
  });

  it("sends a notice again when the connection ended before the provider read it", async () => {
    await gk.addDevice(ANNA); // [1, 2, 3]
    const deaf = await connect({ autoPong: false });
    await until("the notice", () => notices(deaf), (n) => n.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await pendingNotices(), 1, "no pong: not known to be read");
    await deaf.close();

    const conn = await connect();
    await until("the notice again", () => notices(conn), (n) => n.length >= 1);
    assert.deepEqual(notices(conn), [{ kind: "devicesChanged", user: tel(ANNA), devices: [1, 2, 3] }]);
    await until("the notice cleared", pendingNotices, (n) => n === 0);
    await conn.close();
  });

  it("sends PrekeysLow for keys used up while the provider was offline, and drops it once the provider stocked up", async () => {
    // Three simulated users write to alice first: each takes one of her 12 one-time prekeys, leaving 9 (< 10).
    for (const [i, phone] of ["+4915100000001", "+4915100000002", "+4915100000003"].entries()) {
      await gk.addUser(phone, `Writer ${i}`, { sendReceipts: false });
      await gk.sendAs(phone, { to: alice.uri, text: `hello ${i}` });
    }
    await until("the PrekeysLow notice stored", pendingNotices, (n) => n === 1);
    const conn = await connect();
    await until("PrekeysLow", () => notices(conn), (n) => n.some((x) => x.kind === "prekeysLow"));
    assert.deepEqual(notices(conn).filter((n) => n.kind === "prekeysLow").at(-1), { kind: "prekeysLow", user: alice.uri, remaining: 9 });
    await conn.close();

    // Offline again; the keys run lower, then alice stocks up before the provider reconnects: nothing to say.
    await gk.addUser("+4915100000004", "Writer 4", { sendReceipts: false });
    await gk.sendAs("+4915100000004", { to: alice.uri, text: "hello 4" });
    await until("a new PrekeysLow stored", pendingNotices, (n) => n === 1);
    await alice.uploadKeys(20);
    assert.equal(await pendingNotices(), 0);
    const later = await connect();
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(notices(later).filter((n) => n.kind === "prekeysLow"), []);
    await later.close();
  });
});
