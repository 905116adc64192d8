// The Matrix crypto engine on its own against the harness Synapse: a puppet device with persistent keys, cross-signed
// by the puppet, chatting with a real E2EE client (matrix-js-sdk with Rust crypto) both ways, across a restart.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { MatrixClient } from "../../src/matrix/client.js";
import { startAppserviceServer, type AppserviceServer } from "../../src/matrix/appservice-server.js";
import type { ClientEvent } from "../../src/matrix/events.js";
import { MatrixCryptoEngine, type DecryptOutcome } from "../../src/matrix/crypto/engine.js";
import { StoreLock, StoreLockedError } from "../../src/matrix/crypto/store-lock.js";
import { openSqlite } from "../../src/store/database.js";
import type { SqliteEngine } from "../../src/sql/engines/sqlite.js";
import { CryptoDeviceStore } from "../../src/store/crypto-devices.js";
import { CryptoRecordTable } from "../../src/store/crypto-records.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";
import { CryptoTestUser } from "./crypto-client.js";

const log = pino({ level: process.env["MDB_TEST_LOG"] ?? "warn" });

describe("Matrix crypto engine (harness Synapse, matrix-js-sdk Rust crypto client)", function () {
  this.timeout(90_000);
  let env: TestEnv;
  let client: MatrixClient;
  let db: SqliteEngine;
  let dir: string;
  let engine: MatrixCryptoEngine;
  let server: AppserviceServer;
  let alice: CryptoTestUser;
  let puppet: string;
  let deviceId: string;
  let room: string;
  const roomEvents: ClientEvent[] = [];
  let feed = Promise.resolve();

  const startEngine = () =>
    MatrixCryptoEngine.start({ client, devices: new CryptoDeviceStore(db), records: new CryptoRecordTable(db), storeDir: join(dir, "matrix-crypto"), keyPath: join(dir, "matrix-crypto.key"), deviceDisplayName: "test bridge", log });

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    env = await getTestEnv();
    dir = mkdtempSync(join(env.tmpDir, "crypto-engine-"));
    client = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token, logger: log });
    db = openSqlite(join(dir, "bridge.db"));
    engine = await startEngine();
    // Transactions go straight to the engine here (the bridge queues them durably first).
    server = await startAppserviceServer({
      bindAddress: "127.0.0.1",
      port: env.appservicePort,
      hsToken: env.registration.hs_token,
      logger: log,
      queryUser: async () => true,
      sink: {
        accept: async (_id, txn) => {
          roomEvents.push(...txn.events);
          const work = feed.then(async () => {
            for (const ev of txn.toDevice) await engine.receiveToDevice(ev);
            await engine.receiveDeviceLists(txn.deviceLists);
            await engine.receiveKeyCounts(txn.oneTimeKeyCounts, txn.unusedFallbackKeyTypes);
          });
          feed = work.catch((err) => log.error({ err }, "feeding the engine failed"));
          await work;
        },
      },
    });
    await client.pingHomeserver(env.registration.id).catch(() => undefined);
    puppet = `@wa_4917${Date.now() % 10_000_000}:${env.synapse.serverName}`;
    await client.as(puppet).ensureRegistered();
    alice = await CryptoTestUser.create(env.synapse, `calice${Date.now() % 100000}`);
  });

  after(async () => {
    alice?.stop();
    await server?.close();
    await engine?.stop().catch(() => undefined);
    await db?.close();
  });

  it("creates a device for a puppet, uploads its keys and cross-signs it with the puppet's own keys", async () => {
    const started = performance.now();
    deviceId = await engine.ensureDevice(puppet);
    log.info({ ms: Math.round(performance.now() - started) }, "device set-up");
    assert.match(deviceId, /^DMA[A-Z2-9]{10}$/);
    assert.equal(await engine.ensureDevice(puppet), deviceId, "a second call keeps the device");
    assert.deepEqual(await alice.deviceIds(puppet), [deviceId]);
    // What every client reads: the device's keys carry a signature by the puppet's self-signing key.
    const keys = (await client.request("POST", "/_matrix/client/v3/keys/query", { body: { device_keys: { [puppet]: [] } } })) as {
      device_keys: Record<string, Record<string, { signatures: Record<string, Record<string, string>> }>>;
      self_signing_keys: Record<string, { keys: Record<string, string> }>;
      master_keys: Record<string, unknown>;
    };
    assert.ok(keys.master_keys[puppet], "the puppet has a master key");
    const sskId = Object.keys(keys.self_signing_keys[puppet]!.keys)[0]!;
    assert.ok(keys.device_keys[puppet]![deviceId]!.signatures[puppet]![sskId], "the device is signed by the puppet's self-signing key");
  });

  it("encrypts a puppet message that the client decrypts, from the puppet's cross-signed device", async () => {
    room = await client.as(puppet).createRoom({
      preset: "trusted_private_chat",
      is_direct: true,
      invite: [alice.userId],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    assert.equal(await engine.isEncrypted(room, puppet), true);
    await alice.acceptInviteFrom(puppet);
    engine.forgetRoom(room);
    const content = await engine.encrypt(puppet, room, "m.room.message", { msgtype: "m.text", body: "hello from the puppet" });
    assert.equal(content.algorithm, "m.megolm.v1.aes-sha2");
    assert.equal(JSON.stringify(content).includes("hello from the puppet"), false, "no plaintext in the encrypted content");
    await client.as(puppet, deviceId).sendEvent(room, "m.room.encrypted", content, `t-${Date.now()}`);
    const seen = await alice.waitForEvent("the puppet's message", (e) => e.roomId === room && e.content.body === "hello from the puppet");
    assert.equal(seen.encrypted, true);
    const device = await alice.senderDevice(seen);
    assert.deepEqual(device, { deviceId, signedByOwner: true, crossSigningVerified: false });
  });

  it("decrypts the client's message with the puppet's device", async () => {
    await alice.waitForMember(room, puppet);
    const eventId = await alice.sendText(room, "hello puppet");
    const outcome = await decryptWhenKeyArrives(eventId);
    assert.equal(outcome.kind, "decrypted");
    assert.equal(outcome.kind === "decrypted" && outcome.event.content.body, "hello puppet");
    assert.equal(outcome.kind === "decrypted" && outcome.event.type, "m.room.message");
  });

  it("refuses a second process on the same store", async () => {
    assert.throws(() => StoreLock.acquire(join(dir, "matrix-crypto")), StoreLockedError);
  });

  it("keeps the same device and keys across a restart", async () => {
    const before = (await engine.devices.get(puppet))!;
    await engine.stop();
    engine = await startEngine();
    assert.equal(await engine.ensureDevice(puppet), deviceId);
    assert.equal((await engine.devices.get(puppet))!.ed25519Key, before.ed25519Key);
    assert.deepEqual(await alice.deviceIds(puppet), [deviceId], "no new device appeared");

    const content = await engine.encrypt(puppet, room, "m.room.message", { msgtype: "m.text", body: "after the restart" });
    await client.as(puppet, deviceId).sendEvent(room, "m.room.encrypted", content, `t-${Date.now()}`);
    const seen = await alice.waitForEvent("the message after the restart", (e) => e.roomId === room && e.content.body === "after the restart");
    assert.equal((await alice.senderDevice(seen))?.deviceId, deviceId);

    const eventId = await alice.sendText(room, "still there?");
    const outcome = await decryptWhenKeyArrives(eventId);
    assert.equal(outcome.kind === "decrypted" && outcome.event.content.body, "still there?");
  });

  it("encrypts and decrypts a run of messages (timings logged at info)", async () => {
    const n = 30;
    const encryptMs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const content = await engine.encrypt(puppet, room, "m.room.message", { msgtype: "m.text", body: `run ${i}` });
      encryptMs.push(performance.now() - t);
      await client.as(puppet, deviceId).sendEvent(room, "m.room.encrypted", content, `run-${Date.now()}-${i}`);
    }
    await alice.waitFor("every message of the run", () => (alice.messagesIn(room, puppet).filter((e) => String(e.content.body).startsWith("run ")).length === n ? true : undefined));
    const decryptMs: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await alice.sendText(room, `back ${i}`));
    for (const [i, id] of ids.entries()) {
      await decryptWhenKeyArrives(id);
      const ev = roomEvents.find((e) => e.event_id === id)!;
      const t = performance.now();
      const outcome = await engine.decrypt(puppet, ev);
      decryptMs.push(performance.now() - t);
      assert.equal(outcome.kind === "decrypted" && outcome.event.content.body, `back ${i}`);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(2);
    log.info({ encryptMedianMs: median(encryptMs), decryptMedianMs: median(decryptMs), openMachines: engine.openMachines }, "crypto timings");
  });

  async function decryptWhenKeyArrives(eventId: string): Promise<DecryptOutcome> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ev = roomEvents.find((e) => e.event_id === eventId);
      if (ev) {
        const outcome = await engine.decrypt(puppet, ev);
        if (outcome.kind !== "missing_key" || Date.now() > deadline) return outcome;
      } else if (Date.now() > deadline) {
        throw new Error(`event ${eventId} never reached the appservice`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
