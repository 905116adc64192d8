// Placeholder until the bridge runtime lands (owned by the lead; see issue 4).
import type { BridgeConfig } from "../config/schema.js";

export async function runBridge(_config: BridgeConfig): Promise<void> {
  throw new Error("the bridge runtime is not implemented yet");
}
