// Open OlmMachines, one per bridge-owned device, with every operation on a machine serialised (the engine's
// outgoing requests, key sharing and ratchets are not safe to interleave). Machines of idle users are closed and
// reopened on demand, so a bridge with thousands of puppets keeps only the active ones in memory.
import { DeviceId, OlmMachine, StoreHandle, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "pino";
import { KeyedLock } from "../../util/keyed-lock.js";
import { wasmHeapBytes } from "./wasm-memory.js";

export interface MachineOwner {
  userId: string;
  deviceId: string;
  /** The IndexedDB name prefix of this device's crypto store. */
  storeName: string;
}

export interface MachinePoolOptions {
  storeKey: Uint8Array;
  /** How many machines stay open at most; the least recently used idle one is closed beyond that. */
  maxOpen: number;
  log: Logger;
  /** Runs once after each open, inside the machine's lock (callbacks, catching up on what happened while closed). */
  onOpen?: (machine: OlmMachine, owner: MachineOwner) => Promise<void>;
  /** How long loading a machine from its store took (metrics). */
  onStoreOpened?: (seconds: number) => void;
}

interface Entry {
  owner: MachineOwner;
  machine: OlmMachine;
}

export class MachinePool {
  private readonly lock = new KeyedLock();
  /** Open machines by user ID, least recently used first. */
  private readonly open = new Map<string, Entry>();
  private readonly busy = new Map<string, number>();
  private readonly closing = new Set<string>();
  private closed = false;

  constructor(private readonly opts: MachinePoolOptions) {}

  /** Runs `fn` with the owner's machine, opening it if needed; calls for one owner run one at a time. */
  use<T>(owner: MachineOwner, fn: (machine: OlmMachine) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the Matrix crypto engine is stopped"));
    this.busy.set(owner.userId, (this.busy.get(owner.userId) ?? 0) + 1);
    return this.lock
      .run(owner.userId, async () => {
        if (this.closed) throw new Error("the Matrix crypto engine is stopped");
        const entry = await this.entryFor(owner);
        return fn(entry.machine);
      })
      .finally(() => {
        const n = (this.busy.get(owner.userId) ?? 1) - 1;
        if (n === 0) this.busy.delete(owner.userId);
        else this.busy.set(owner.userId, n);
        this.evictIdle();
      });
  }

  get openCount(): number {
    return this.open.size;
  }

  isOpen(userId: string): boolean {
    return this.open.has(userId);
  }

  /** Owners whose machines are open now (device-list changes go to these directly). */
  openOwners(): MachineOwner[] {
    return [...this.open.values()].map((e) => e.owner);
  }

  /** Closes every machine after the operations in progress. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.open.keys()].map((userId) => this.lock.run(userId, async () => this.closeEntry(userId))));
  }

  private async entryFor(owner: MachineOwner): Promise<Entry> {
    const existing = this.open.get(owner.userId);
    if (existing && existing.owner.deviceId === owner.deviceId && existing.owner.storeName === owner.storeName) {
      this.open.delete(owner.userId);
      this.open.set(owner.userId, existing); // most recently used
      return existing;
    }
    if (existing) this.closeEntry(owner.userId); // the user got a new device
    const started = performance.now();
    const handle = await StoreHandle.openWithKey(owner.storeName, this.opts.storeKey);
    let machine: OlmMachine;
    try {
      machine = await OlmMachine.initFromStore(new UserId(owner.userId), new DeviceId(owner.deviceId), handle, wasmLogger(this.opts.log));
    } finally {
      handle.free();
    }
    this.opts.onStoreOpened?.((performance.now() - started) / 1000);
    // Room key requests would let other devices ask our devices for keys; the bridge never needs that.
    machine.roomKeyRequestsEnabled = false;
    machine.roomKeyForwardingEnabled = false;
    const entry = { owner, machine };
    this.open.set(owner.userId, entry);
    try {
      await this.opts.onOpen?.(machine, owner);
    } catch (err) {
      this.closeEntry(owner.userId);
      throw err;
    }
    this.opts.log.debug({ user: owner.userId, device: owner.deviceId, ms: Math.round(performance.now() - started), open: this.open.size }, "crypto machine opened");
    return entry;
  }

  private closeEntry(userId: string): void {
    const entry = this.open.get(userId);
    if (!entry) return;
    this.open.delete(userId);
    // Frees the wasm machine and closes its IndexedDB connections; the store's records then leave memory too.
    entry.machine.close();
    this.opts.log.debug({ user: userId, open: this.open.size, wasmHeapMiB: mib(wasmHeapBytes()) }, "crypto machine closed");
  }

  /**
   * Closes the machine of this store once the operations queued for it are done: a save of its store failed, so what
   * the machine holds in memory may be ahead of what is stored; it is reloaded from the stored state when next used.
   */
  discardStore(storeName: string): void {
    for (const [userId, entry] of this.open) {
      if (entry.owner.storeName !== storeName) continue;
      void this.lock.run(userId, async () => {
        if (this.open.get(userId) === entry) this.closeEntry(userId);
      });
    }
  }

  private evictIdle(): void {
    let excess = this.open.size - this.opts.maxOpen - this.closing.size;
    for (const userId of this.open.keys()) {
      if (excess <= 0) break;
      if (this.busy.has(userId) || this.closing.has(userId)) continue;
      this.closing.add(userId);
      excess--;
      // Through the lock, so it never closes a machine under a running operation; one that was queued meanwhile
      // keeps it open (a later eviction picks another).
      void this.lock.run(userId, async () => {
        this.closing.delete(userId);
        if (!this.busy.has(userId) && this.open.size > this.opts.maxOpen) this.closeEntry(userId);
      });
    }
  }
}

/**
 * Routes the engine's own log lines to pino, one level down: it warns about expected situations (an event whose key
 * has not arrived yet), which the bridge reports itself where they matter.
 */
function wasmLogger(log: Logger): { debug(d: unknown): void; info(d: unknown): void; warn(d: unknown): void; error(d: unknown): void } {
  return {
    debug: (d) => log.trace({ engine: String(d) }, "crypto engine"),
    info: (d) => log.trace({ engine: String(d) }, "crypto engine"),
    warn: (d) => log.debug({ engine: String(d) }, "crypto engine"),
    error: (d) => log.warn({ engine: String(d) }, "crypto engine"),
  };
}

function mib(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 104857.6) / 10;
}
