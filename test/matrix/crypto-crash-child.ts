// The sending side of the crash-safety test (crypto-crash.test.ts), as its own process so that it can be SIGKILLed:
// a bridge device whose crypto store is in a bridge database file, encrypting Megolm messages for the peer as fast
// as it can. The homeserver's part (key upload, query, claim, to-device) is the parent's, over IPC; each ciphertext
// goes to the parent once encryptRoomEvent has returned, i.e. once the bridge would have sent it.
// argv: <database path> <user ID> <device ID> <peer user ID> <room ID> <first message number>
import { DeviceId, OlmMachine, RoomId, StoreHandle, UserId, EncryptionSettings, EncryptionAlgorithm, CollectStrategy } from "@matrix-org/matrix-sdk-crypto-wasm";
import { installCryptoStorage } from "../../src/matrix/crypto/indexeddb.js";
import { openSqlite } from "../../src/store/database.js";
import { CryptoRecordTable } from "../../src/store/crypto-records.js";

const [dbPath, userId, deviceId, peer, roomId, firstArg] = process.argv.slice(2) as [string, string, string, string, string, string];
const send = (m: unknown) => new Promise<void>((resolve) => process.send!(m, () => resolve()));
let nextId = 0;
const waiting = new Map<number, (body: unknown) => void>();
process.on("message", (m: { id: number; body: unknown }) => waiting.get(m.id)?.(m.body));
/** One homeserver request, answered by the parent. */
function homeserver(type: number, body: string, extra: Record<string, unknown> = {}): Promise<unknown> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    void send({ kind: "request", id, type, body: JSON.parse(body) as unknown, ...extra });
  });
}

await installCryptoStorage(new CryptoRecordTable(openSqlite(dbPath)));
const handle = await StoreHandle.openWithKey("crash-device", new Uint8Array(32).fill(3));
const machine = await OlmMachine.initFromStore(new UserId(userId), new DeviceId(deviceId), handle);
handle.free();

async function flush(): Promise<void> {
  for (let round = 0; round < 10; round++) {
    const requests = await machine.outgoingRequests();
    if (requests.length === 0) return;
    for (const r of requests) {
      const extra = "event_type" in r ? { eventType: (r as { event_type: string }).event_type, txnId: (r as { txn_id: string }).txn_id } : {};
      const res = await homeserver(r.type, r.body, extra);
      await machine.markRequestAsSent(r.id!, r.type, JSON.stringify(res));
    }
  }
}

await flush();
const users = () => [new UserId(peer)];
for (let i = Number(firstArg); ; i++) {
  await machine.updateTrackedUsers(users());
  await flush();
  const claim = await machine.getMissingSessions(users());
  if (claim) await machine.markRequestAsSent(claim.id, claim.type, JSON.stringify(await homeserver(claim.type, claim.body)));
  const settings = new EncryptionSettings();
  settings.algorithm = EncryptionAlgorithm.MegolmV1AesSha2;
  settings.sharingStrategy = CollectStrategy.allDevices();
  for (const r of await machine.shareRoomKey(new RoomId(roomId), users(), settings)) {
    await machine.markRequestAsSent(r.id, r.type, JSON.stringify(await homeserver(r.type, r.body, { eventType: r.event_type, txnId: r.txn_id })));
  }
  const content = await machine.encryptRoomEvent(new RoomId(roomId), "m.room.message", JSON.stringify({ msgtype: "m.text", body: `message ${i}` }));
  await send({ kind: "encrypted", n: i, content: JSON.parse(content) as unknown });
}
