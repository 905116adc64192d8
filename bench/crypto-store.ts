// `node dist/bench/crypto-store.js`: the Matrix crypto store on its own, without bridge or homeserver. Two parts:
//  - messages: a device on the store under test encrypts N Megolm messages for an in-memory peer and decrypts N of
//    the peer's; prints the median and p95 time of its encrypt and decrypt calls (the store's share of a message);
//  - devices: opens D devices one after another through the machine pool (LRU of --max-open), each uploading its
//    keys, as a bridge does for D puppets; prints RSS and the wasm heap as it goes and after all are closed.
// --store picks the IndexedDB under the engine: bridge (the bridge's own, over SQLite), shim (indexeddbshim, one
// SQLite file pair per device: what bridges used before), fake (fake-indexeddb, in memory only: the floor for an
// in-memory IndexedDB), memory (no store at all: the engine's in-memory machine).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DeviceId, OlmMachine, StoreHandle, UserId, type OlmMachine as Machine } from "@matrix-org/matrix-sdk-crypto-wasm";
import { pino } from "pino";
import { installCryptoStorage } from "../src/matrix/crypto/indexeddb.js";
import { MachinePool } from "../src/matrix/crypto/machine-pool.js";
import { watchWasmMemory, wasmHeapBytes } from "../src/matrix/crypto/wasm-memory.js";
import { openSqlite } from "../src/store/database.js";
import { CryptoRecordTable } from "../src/store/crypto-records.js";
import { FakeKeyDirectory } from "./fake-key-directory.js";
import { LocalOlmDevice } from "./olm-device.js";
import { percentile } from "./stats.js";

const STORES = ["bridge", "shim", "fake", "memory"] as const;
type StoreKind = (typeof STORES)[number];

const { values } = parseArgs({
  options: {
    store: { type: "string", default: "bridge" },
    n: { type: "string", default: "300" },
    devices: { type: "string", default: "1000" },
    "max-open": { type: "string", default: "64" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  process.stdout.write("usage: node dist/bench/crypto-store.js [--store bridge|fake|memory] [--n messages] [--devices count] [--max-open machines]\n");
  process.exit(0);
}
const kind = values.store as StoreKind;
if (!STORES.includes(kind)) throw new Error(`--store must be one of ${STORES.join(", ")}`);
const n = Number(values.n);
const deviceCount = Number(values.devices);
const maxOpen = Number(values["max-open"]);
const storeKey = new Uint8Array(32).fill(9);
const dir = mkdtempSync(join(tmpdir(), "mdb-bench-crypto-"));
const mib = (b: number | undefined) => (b === undefined ? "?" : (b / 1048576).toFixed(1));
const memory = () => {
  const m = process.memoryUsage();
  return `RSS ${mib(m.rss)} MiB (JS heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)}, wasm heap ${mib(wasmHeapBytes())})`;
};

async function setUp(): Promise<void> {
  watchWasmMemory();
  if (kind === "bridge") await installCryptoStorage(new CryptoRecordTable(openSqlite(join(dir, "bridge.db"))));
  else if (kind === "shim") {
    const folder = join(dir, "matrix-crypto");
    mkdirSync(folder, { mode: 0o700 });
    const { default: setGlobalVars } = (await import("indexeddbshim")) as unknown as { default: (target: null, config: object) => void };
    setGlobalVars(null, { checkOrigin: false, databaseBasePath: folder, sysDatabaseBasePath: folder, cacheDatabaseInstances: false });
    await installWasmOnly();
  } else if (kind === "fake") {
    await import("fake-indexeddb/auto" as string);
    await installWasmOnly();
  } else await installWasmOnly();
}

async function installWasmOnly(): Promise<void> {
  const { initAsync } = await import("@matrix-org/matrix-sdk-crypto-wasm");
  await initAsync();
}

async function openMachine(userId: string, deviceId: string, storeName: string): Promise<Machine> {
  if (kind === "memory") return OlmMachine.initialize(new UserId(userId), new DeviceId(deviceId));
  const handle = await StoreHandle.openWithKey(storeName, storeKey);
  try {
    return await OlmMachine.initFromStore(new UserId(userId), new DeviceId(deviceId), handle);
  } finally {
    handle.free();
  }
}

function directory(): FakeKeyDirectory {
  return new FakeKeyDirectory({
    actor: () => {
      throw new Error("not used");
    },
    isAppserviceUser: () => false,
    pushToDevice: () => undefined,
    deviceListChanged: () => undefined,
    badRequest: (m) => new Error(m),
  });
}

function summary(label: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `${label}: median ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms`;
}

async function messages(): Promise<void> {
  const keys = directory();
  const room = "!bench:example.org";
  const a = await LocalOlmDevice.create(keys, "@store:example.org", "STORE", () => openMachine("@store:example.org", "STORE", "bench-store"));
  const b = await LocalOlmDevice.create(keys, "@peer:example.org", "PEER");
  const members = [a.userId, b.userId];
  const enc: number[] = [];
  const dec: number[] = [];
  let encCpu = 0;
  let decCpu = 0;
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  for (let i = 0; i < n + 10; i++) {
    const t = performance.now();
    const c = cpu();
    const ev = await a.encrypt(room, members, "m.room.message", { msgtype: "m.text", body: `message ${i}` });
    if (i >= 10) {
      enc.push(performance.now() - t);
      encCpu += cpu() - c;
    }
    await b.decrypt({ type: "m.room.encrypted", room_id: room, sender: a.userId, event_id: `$a${i}`, origin_server_ts: Date.now(), content: ev });
  }
  for (let i = 0; i < n + 10; i++) {
    const ev = await b.encrypt(room, members, "m.room.message", { msgtype: "m.text", body: `reply ${i}` });
    const t = performance.now();
    const c = cpu();
    await a.decrypt({ type: "m.room.encrypted", room_id: room, sender: b.userId, event_id: `$b${i}`, origin_server_ts: Date.now(), content: ev });
    if (i >= 10) {
      dec.push(performance.now() - t);
      decCpu += cpu() - c;
    }
  }
  process.stdout.write(
    `store ${kind}, ${n} messages each way\n  ${summary("encrypt", enc)}, CPU ${(encCpu / n).toFixed(2)} ms per message\n  ${summary("decrypt", dec)}, CPU ${(decCpu / n).toFixed(2)} ms per message\n`,
  );
  a.close();
  b.close();
}

async function devices(): Promise<void> {
  if (kind === "memory") return;
  const keys = directory();
  const log = pino({ level: "silent" });
  const pool = new MachinePool({ storeKey, maxOpen, log });
  process.stdout.write(`devices (max ${maxOpen} open): before: ${memory()}\n`);
  const started = performance.now();
  for (let i = 0; i < deviceCount; i++) {
    const userId = `@wa_${4900000 + i}:example.org`;
    const owner = { userId, deviceId: `DEV${i}`, storeName: `bench-device-${i}` };
    await pool.use(owner, async (machine) => {
      for (const r of await machine.outgoingRequests()) {
        if (r.type === 0) await machine.markRequestAsSent(r.id!, r.type, JSON.stringify({ one_time_key_counts: keys.upload(userId, owner.deviceId, JSON.parse(r.body) as Record<string, unknown>) }));
      }
    });
    if ((i + 1) % 250 === 0 || i + 1 === deviceCount) {
      process.stdout.write(
        `  ${i + 1} devices, ${((performance.now() - started) / (i + 1)).toFixed(1)} ms each, ${pool.openCount} open: ${memory()}\n`,
      );
    }
  }
  await pool.close();
  await new Promise((r) => setTimeout(r, 100));
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(`  all closed: ${memory()}\n`);
}

try {
  await setUp();
  await messages();
  await devices();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
