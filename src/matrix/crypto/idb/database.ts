// IDBDatabase (a connection) and DatabaseHandle: one loaded database with its connections and the queue of its
// transactions. Transactions of a database run one after another, each after the previous one's commit is durable:
// IndexedDB allows that order for any mix of scopes, and it keeps the record store's commits in the same order.
import type { CryptoRecordStore, RecordChange } from "../record-store.js";
import type { DatabaseState } from "./database-state.js";
import { idbError } from "./errors.js";
import { IdbEventTarget, stringList } from "./events.js";
import type { IDBObjectStore } from "./object-store.js";
import type { ConnectionLike, DatabaseHandleLike, TransactionMode } from "./contracts.js";
import { IDBTransaction } from "./transaction.js";

export class DatabaseHandle implements DatabaseHandleLike {
  readonly connections = new Set<IDBDatabase>();
  private readonly queue: IDBTransaction[] = [];
  private running: IDBTransaction | undefined;
  /** Connections waiting to open (one at a time, so upgrades see a settled state). */
  openChain: Promise<void> = Promise.resolve();
  pendingOpens = 0;
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];

  constructor(
    readonly name: string,
    public state: DatabaseState,
    /** Whether the database exists in the record store (a new one exists once its first upgrade commits). */
    public exists: boolean,
    private readonly records: CryptoRecordStore,
    private readonly events: { idle(handle: DatabaseHandle): void; commitFailed(name: string, err: unknown): void },
  ) {}

  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  get idle(): boolean {
    return this.connections.size === 0 && !this.busy && this.pendingOpens === 0;
  }

  /** Resolves once `ready()` holds, checked whenever a transaction finishes or a connection closes. */
  when(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  enqueue(tx: IDBTransaction): void {
    this.queue.push(tx);
    this.pump();
  }

  unqueue(tx: IDBTransaction): void {
    const i = this.queue.indexOf(tx);
    if (i >= 0) this.queue.splice(i, 1);
    this.checkIdle();
  }

  finished(tx: IDBTransaction): void {
    if (this.running === tx) this.running = undefined;
    this.pump();
    this.checkIdle();
  }

  async persist(change: RecordChange): Promise<void> {
    await this.records.commit(this.name, change);
    if (change.schema) this.exists = true;
  }

  reportCommitFailure(err: unknown): void {
    this.events.commitFailed(this.name, err);
  }

  checkIdle(): void {
    if (this.waiters.length > 0) {
      const still: typeof this.waiters = [];
      for (const w of this.waiters) (w.ready() ? w.resolve : () => still.push(w))();
      this.waiters = still;
    }
    if (this.idle) this.events.idle(this);
  }

  private pump(): void {
    if (this.running) return;
    const next = this.queue.shift();
    if (!next) return;
    this.running = next;
    next.start();
  }
}

export class IDBDatabase extends IdbEventTarget implements ConnectionLike {
  onabort: ((ev: unknown) => unknown) | null = null;
  onclose: ((ev: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  onversionchange: ((ev: unknown) => unknown) | null = null;
  /** @internal */ closePending = false;
  /** @internal: the upgrade transaction while this connection is being upgraded. */
  upgrade: IDBTransaction | undefined;

  /** @internal */
  constructor(readonly handle: DatabaseHandle) {
    super();
  }

  get name(): string {
    return this.handle.name;
  }

  get version(): number {
    return this.handle.state.version;
  }

  get objectStoreNames(): string[] {
    return stringList(this.handle.state.stores.keys());
  }

  transaction(storeNames: string | string[], mode: TransactionMode = "readonly"): IDBTransaction {
    if (this.closePending) throw idbError("InvalidStateError", "the database connection is closing");
    if (this.upgrade && this.upgrade.state !== "finished") throw idbError("InvalidStateError", "the database is being upgraded");
    if (mode !== "readonly" && mode !== "readwrite") throw new TypeError(`transaction mode must be "readonly" or "readwrite", got ${String(mode)}`);
    const names = typeof storeNames === "string" ? [storeNames] : [...storeNames];
    if (names.length === 0) throw idbError("InvalidAccessError", "a transaction needs at least one object store");
    for (const n of names) if (!this.handle.state.stores.has(n)) throw idbError("NotFoundError", `no object store named ${JSON.stringify(n)}`);
    const tx = new IDBTransaction(this, new Set(names), mode);
    this.handle.enqueue(tx);
    return tx;
  }

  createObjectStore(name: string, options?: { keyPath?: unknown; autoIncrement?: boolean }): IDBObjectStore {
    const tx = this.activeUpgrade();
    if ((options?.keyPath !== undefined && options.keyPath !== null) || options?.autoIncrement) {
      throw idbError("NotSupportedError", "object stores with a key path or key generator are not supported by the bridge's IndexedDB");
    }
    this.handle.state.createStore(String(name), tx.log);
    return tx.objectStore(String(name));
  }

  deleteObjectStore(name: string): void {
    const tx = this.activeUpgrade();
    this.handle.state.deleteStore(name, tx.log);
    tx.storeDeleted(name);
  }

  close(): void {
    if (this.closePending) return;
    this.closePending = true;
    this.handle.connections.delete(this);
    this.handle.checkIdle();
  }

  private activeUpgrade(): IDBTransaction {
    const tx = this.upgrade;
    if (!tx || tx.state === "finished") throw idbError("InvalidStateError", "object stores can only be changed while the database is upgraded");
    tx.assertActive();
    return tx;
  }
}
