// IDBFactory over a CryptoRecordStore: a database is loaded into memory when a connection opens it and dropped when
// its last connection has closed and its last transaction has committed, so memory follows the open crypto machines.
import type { CryptoRecordStore } from "../record-store.js";
import { DatabaseState } from "./database-state.js";
import { DatabaseHandle, IDBDatabase } from "./database.js";
import { idbError } from "./errors.js";
import { encodeKey } from "./key-codec.js";
import { IDBOpenDBRequest } from "./request.js";
import { IDBTransaction } from "./transaction.js";

export interface FactoryEvents {
  /** A transaction's commit failed in the record store; the transaction was aborted. */
  commitFailed(database: string, err: unknown): void;
}

export class IDBFactory {
  private readonly handles = new Map<string, DatabaseHandle>();
  private readonly loading = new Map<string, { reservations: number; promise: Promise<DatabaseHandle> }>();
  private records: CryptoRecordStore | undefined;
  private events: FactoryEvents = { commitFailed: () => undefined };

  /** Points the factory at a record store; another may take over only once nothing is open. */
  attach(records: CryptoRecordStore, events?: FactoryEvents): void {
    if (this.records && this.records !== records && (this.handles.size > 0 || this.loading.size > 0)) {
      throw new Error("the crypto store's IndexedDB is in use with another record store in this process");
    }
    this.records = records;
    if (events) this.events = events;
  }

  detach(records: CryptoRecordStore): void {
    if (this.records === records) this.records = undefined;
  }

  /** Databases in memory now (each one has an open connection or an unfinished transaction). */
  get loadedCount(): number {
    return this.handles.size;
  }

  isLoaded(name: string): boolean {
    return this.handles.has(name);
  }

  open(name: string, version?: number): IDBOpenDBRequest {
    if (version !== undefined && (!Number.isInteger(version) || version < 1 || version > Number.MAX_SAFE_INTEGER)) {
      throw new TypeError(`the database version must be a whole number of at least 1, got ${String(version)}`);
    }
    const records = this.requireRecords();
    const req = new IDBOpenDBRequest();
    void this.runOpen(records, req, String(name), version);
    return req;
  }

  deleteDatabase(name: string): IDBOpenDBRequest {
    const records = this.requireRecords();
    const req = new IDBOpenDBRequest();
    void (async () => {
      try {
        const handle = await this.reserve(records, name);
        const oldVersion = handle.state.version;
        for (const c of handle.connections) c.dispatch("versionchange", { oldVersion, newVersion: null });
        await handle.when(() => handle.connections.size === 0 && !handle.busy);
        await records.drop(name);
        handle.state = new DatabaseState(name, 0);
        handle.exists = false;
        handle.pendingOpens--;
        handle.checkIdle();
        req.succeed(undefined);
        req.dispatch("success", { oldVersion, newVersion: null });
      } catch (err) {
        req.fail(idbError("UnknownError", `deleting the database failed: ${(err as Error)?.message ?? String(err)}`));
        req.dispatch("error");
      }
    })();
    return req;
  }

  cmp(a: unknown, b: unknown): number {
    return Math.sign(Buffer.compare(encodeKey(a), encodeKey(b)));
  }

  private requireRecords(): CryptoRecordStore {
    if (!this.records) throw idbError("InvalidStateError", "the crypto store's IndexedDB has no record store (the crypto engine is not started)");
    return this.records;
  }

  /**
   * The loaded database, reserved for the caller (counted in pendingOpens, so that a connection closing meanwhile
   * cannot make it idle and drop it while the caller is about to use it). The caller releases with pendingOpens--.
   */
  private reserve(records: CryptoRecordStore, name: string): Promise<DatabaseHandle> {
    const loaded = this.handles.get(name);
    if (loaded) {
      loaded.pendingOpens++;
      return Promise.resolve(loaded);
    }
    let entry = this.loading.get(name);
    if (!entry) {
      const e: { reservations: number; promise: Promise<DatabaseHandle> } = { reservations: 0, promise: undefined as never };
      e.promise = (async () => {
        try {
          const stored = await records.load(name);
          const state = stored ? DatabaseState.load(name, stored) : new DatabaseState(name, 0);
          const handle = new DatabaseHandle(name, state, stored !== undefined, records, {
            idle: (h) => {
              if (this.handles.get(name) === h) this.handles.delete(name);
            },
            commitFailed: (n, err) => this.events.commitFailed(n, err),
          });
          handle.pendingOpens = e.reservations;
          this.handles.set(name, handle);
          return handle;
        } finally {
          this.loading.delete(name);
        }
      })();
      this.loading.set(name, (entry = e));
    }
    entry.reservations++;
    return entry.promise;
  }

  private async runOpen(records: CryptoRecordStore, req: IDBOpenDBRequest, name: string, version: number | undefined): Promise<void> {
    let handle: DatabaseHandle;
    try {
      handle = await this.reserve(records, name);
    } catch (err) {
      req.fail(idbError("UnknownError", `the crypto store could not be loaded: ${(err as Error)?.message ?? String(err)}`));
      req.dispatch("error");
      return;
    }
    const prior = handle.openChain;
    let release!: () => void;
    handle.openChain = new Promise((r) => (release = r));
    try {
      await prior;
      await this.openOn(handle, req, version);
    } finally {
      handle.pendingOpens--;
      release();
      handle.checkIdle();
    }
  }

  private async openOn(handle: DatabaseHandle, req: IDBOpenDBRequest, version: number | undefined): Promise<void> {
    const current = handle.state.version;
    const target = version ?? (current === 0 ? 1 : current);
    if (target < current) {
      req.fail(idbError("VersionError", `the database ${handle.name} is at version ${current}, above the requested ${target}`));
      req.dispatch("error");
      return;
    }
    const conn = new IDBDatabase(handle);
    if (target === current) {
      handle.connections.add(conn);
      req.succeed(conn);
      req.dispatch("success");
      return;
    }
    for (const other of handle.connections) other.dispatch("versionchange", { oldVersion: current, newVersion: target });
    if (handle.connections.size > 0) req.dispatch("blocked", { oldVersion: current, newVersion: target });
    await handle.when(() => handle.connections.size === 0 && !handle.busy);
    handle.connections.add(conn);
    const tx = new IDBTransaction(conn, undefined, "versionchange");
    conn.upgrade = tx;
    const finished = new Promise<boolean>((resolve) => (tx.onFinish = resolve));
    handle.state.setVersion(target, tx.log);
    req.transaction = tx;
    req.succeed(conn);
    handle.enqueue(tx);
    // The transaction's first turn comes after this: whatever the handler places runs in it.
    req.dispatch("upgradeneeded", { oldVersion: current, newVersion: target }, (err) =>
      tx.abortWith(idbError("AbortError", `the upgrade handler threw: ${(err as Error)?.message ?? String(err)}`)),
    );
    const committed = await finished;
    conn.upgrade = undefined;
    req.transaction = null;
    if (committed) {
      req.dispatch("success");
      return;
    }
    conn.closePending = true;
    handle.connections.delete(conn);
    req.fail(tx.error ?? idbError("AbortError", "the upgrade transaction was aborted"));
    req.dispatch("error");
  }
}
