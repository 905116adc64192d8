// Serialises Signal operations per local device. Two ratchet steps of one device running concurrently would both
// read the same session state and write two forks of it; the second commit would silently lose the first's chain
// keys. The lock is process-wide and keyed by the local device, so every caller in the process shares it.
import type { DeviceAddress } from "./address.js";

const tails = new Map<string, Promise<void>>();

function lockKey(identity: DeviceAddress): string {
  return `${identity.uri}\u0000${identity.deviceId}`;
}

/**
 * Runs `fn` once every earlier `fn` for the same local device has settled. Not re-entrant: calling it again for the
 * same device from inside `fn` deadlocks.
 */
export async function withIdentityLock<T>(identity: DeviceAddress, fn: () => Promise<T>): Promise<T> {
  const key = lockKey(identity);
  const previous = tails.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  tails.set(key, tail);
  await previous;
  try {
    return await fn();
  } finally {
    release();
    // Drop the entry when nobody queued behind us, so the map does not grow with every device ever seen.
    if (tails.get(key) === tail) tails.delete(key);
  }
}
