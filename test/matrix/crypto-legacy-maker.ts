// For crypto-legacy-import.test.ts: makes a device's crypto store the way bridges before the move to the bridge
// database did (indexeddbshim, one SQLite file pair per device in a folder), in its own process because the shim
// must be the process's indexedDB for the engine to use it. Prints the device's identity keys as JSON.
// argv: <folder> <store name> <user ID> <device ID>
import { DeviceId, initAsync, OlmMachine, StoreHandle, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import { mkdirSync } from "node:fs";
import setGlobalVars from "indexeddbshim";

const [folder, storeName, userId, deviceId] = process.argv.slice(2) as [string, string, string, string];
mkdirSync(folder, { recursive: true, mode: 0o700 });
setGlobalVars(null as never, { checkOrigin: false, databaseBasePath: folder, sysDatabaseBasePath: folder, cacheDatabaseInstances: false });
await initAsync();
const handle = await StoreHandle.openWithKey(storeName, new Uint8Array(32).fill(4));
const machine = await OlmMachine.initFromStore(new UserId(userId), new DeviceId(deviceId), handle);
handle.free();
// Cross-signing keys too, so the import must carry the private identity over (a new one would warn every contact).
await machine.bootstrapCrossSigning(true);
const status = await machine.crossSigningStatus();
process.stdout.write(
  JSON.stringify({ ed25519: machine.identityKeys.ed25519.toBase64(), curve25519: machine.identityKeys.curve25519.toBase64(), crossSigning: status.hasMaster && status.hasSelfSigning && status.hasUserSigning }),
);
machine.close();
