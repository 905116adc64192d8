// What the client last heard about remote users' device lists (from bundles, STALE_DEVICES answers and
// DevicesChanged notices). In memory only, and re-read deterministically instead of guessed: after a start (no hint
// for a user we have sessions with) the fan-out asks the directory once before it encrypts, and after a reconnect
// every hint is dropped, since notices sent while we were away may not have reached us. A wrong hint still costs
// only a STALE_DEVICES round trip, after which the gatekeeper's answer is known again.

/** Per device: its registration ID when known (a bundle told us), undefined when only its existence is known. */
export type DeviceList = ReadonlyMap<number, number | undefined>;

const MAX_USERS = 10_000;

export class DeviceHints {
  private readonly users = new Map<string, Map<number, number | undefined>>();

  get(uri: string): DeviceList | undefined {
    return this.users.get(uri);
  }

  /** Replaces the device list of `uri`, keeping known registration IDs of devices that stay. */
  setDevices(uri: string, devices: readonly number[], changedRegistration: readonly number[] = []): void {
    const old = this.users.get(uri);
    const next = new Map<number, number | undefined>();
    for (const d of devices) next.set(d, changedRegistration.includes(d) ? undefined : old?.get(d));
    this.put(uri, next);
  }

  /** A bundle showed the current registration ID of one device. */
  setRegistration(uri: string, deviceId: number, registrationId: number): void {
    const list = this.users.get(uri);
    if (list) list.set(deviceId, registrationId);
  }

  forget(uri: string): void {
    this.users.delete(uri);
  }

  clear(): void {
    this.users.clear();
  }

  private put(uri: string, list: Map<number, number | undefined>): void {
    this.users.delete(uri);
    // Insertion order makes the map an LRU of sorts: drop the user heard about longest ago.
    if (this.users.size >= MAX_USERS) this.users.delete(this.users.keys().next().value!);
    this.users.set(uri, list);
  }
}
