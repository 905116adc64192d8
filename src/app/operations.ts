// The runtime's side of the admin commands (OperationsPort): status from the store and the crypto engine, device
// resets, and forgetting a user's network side.
import type { OperationsPort, OperationsStatus } from "../core/ports.js";
import { QUEUE_NAMES, type StoreStats } from "../store/stats.js";
import { UserForgetting } from "../store/forget-user.js";
import type { BridgeStore } from "../store/store.js";
import { BRIDGE_VERSION } from "../version.js";
import type { InteropRemoteNetwork } from "./interop-side.js";
import type { BridgeCrypto } from "./matrix-crypto.js";

export class RuntimeOperations implements OperationsPort {
  readonly version = BRIDGE_VERSION;

  constructor(
    private readonly store: BridgeStore,
    private readonly stats: StoreStats,
    private readonly network: InteropRemoteNetwork,
    private readonly crypto: () => BridgeCrypto | undefined,
  ) {}

  async status(): Promise<OperationsStatus> {
    const queues = await Promise.all(QUEUE_NAMES.map(async (name) => ({ name, ...(await this.stats.queue(name)) })));
    const crypto = this.crypto();
    return { queues, cryptoMachines: crypto ? crypto.engine.openMachines : null, portals: await this.stats.portals(), puppets: await this.stats.puppets() };
  }

  async resetCrypto(userId: string): Promise<string> {
    const crypto = this.crypto();
    if (!crypto) throw new Error("Matrix encryption is off in this bridge");
    return crypto.engine.resetDevice(userId);
  }

  async forgetUser(userId: string): Promise<void> {
    await new UserForgetting(this.store.db).forget(userId);
    this.network.forgetIdentity(userId);
  }
}
