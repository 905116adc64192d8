// IDBTransaction: requests run in the order they were placed; when none is left after a full event-loop turn (the
// caller placed no new one while handling the last result), the transaction commits: its net changes go to the
// record store as one database transaction, and only once that is durable does `complete` fire. So whatever the
// crypto engine saw committed survives a crash. An error nobody handles, or abort(), undoes every change in memory.
import { ChangeLog } from "./database-state.js";
import { idbError } from "./errors.js";
import { IdbEventTarget, stringList } from "./events.js";
import { IDBObjectStore } from "./object-store.js";
import { IDBRequest } from "./request.js";
import type { ConnectionLike, TransactionLike, TransactionMode, TransactionState } from "./contracts.js";

export type { TransactionMode };

interface Pending {
  req: IDBRequest;
  op: () => unknown;
}

export class IDBTransaction extends IdbEventTarget implements TransactionLike {
  oncomplete: ((ev: unknown) => unknown) | null = null;
  onabort: ((ev: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  error: DOMException | null = null;
  readonly durability = "strict";
  /** @internal */ state: TransactionState = "queued";
  /** @internal */ readonly log = new ChangeLog();
  /** @internal: the upgrade flow waits for this (true: committed). */
  onFinish: ((committed: boolean) => void) | undefined;
  private commitRequested = false;
  private readonly pending: Pending[] = [];
  private readonly stores = new Map<string, IDBObjectStore>();

  constructor(
    readonly db: ConnectionLike,
    private readonly scope: ReadonlySet<string> | undefined,
    readonly mode: TransactionMode,
  ) {
    super();
  }

  protected override parentTarget(): IdbEventTarget {
    return this.db;
  }

  get objectStoreNames(): string[] {
    return stringList(this.scope ?? this.db.handle.state.stores.keys());
  }

  objectStore(name: string): IDBObjectStore {
    if (this.state === "finished") throw idbError("InvalidStateError", "the transaction has finished");
    if (this.scope ? !this.scope.has(name) : !this.db.handle.state.stores.has(name)) {
      throw idbError("NotFoundError", `the object store ${JSON.stringify(name)} is not in this transaction's scope`);
    }
    let s = this.stores.get(name);
    if (!s || s.deleted) {
      s = new IDBObjectStore(this, name);
      this.stores.set(name, s);
    }
    return s;
  }

  /** @internal: an upgrade deleted the store; the IDBObjectStore handed out for it refuses further use. */
  storeDeleted(name: string): void {
    const s = this.stores.get(name);
    if (s) s.deleted = true;
    this.stores.delete(name);
  }

  abort(): void {
    if (this.state === "committing" || this.state === "finished") throw idbError("InvalidStateError", "the transaction has already committed or aborted");
    this.abortWith(null);
  }

  commit(): void {
    this.assertActive();
    this.commitRequested = true;
  }

  /** @internal */
  assertActive(): void {
    if (this.state === "committing" || this.state === "finished" || this.commitRequested) {
      throw idbError("TransactionInactiveError", "the transaction is not active (it has committed, is committing or was aborted)");
    }
  }

  /** @internal */
  assertWritable(): void {
    this.assertActive();
    if (this.mode === "readonly") throw idbError("ReadOnlyError", "the transaction is read-only");
  }

  /** @internal: queues an operation; its result or error is delivered on the request. */
  place(source: unknown, op: () => unknown, req = new IDBRequest()): IDBRequest {
    this.assertActive();
    req.source ??= source;
    req.transaction = this;
    this.pending.push({ req, op });
    return req;
  }

  /** @internal: called by the database's scheduler when it is this transaction's turn. */
  start(): void {
    if (this.state !== "queued") return;
    this.state = "running";
    this.scheduleStep();
  }

  /**
   * Requests run as soon as they are there (a microtask after the previous result was delivered: the caller's
   * continuation, queued during delivery, runs first and places its next request). Only an empty queue waits for the
   * next event-loop turn, and the transaction commits when the queue is still empty then: so it never commits while
   * the caller is still reacting to a result, however many promise hops that takes.
   */
  private scheduleStep(): void {
    queueMicrotask(() => {
      if (this.state !== "running") return;
      if (this.pending.length > 0) this.step();
      else setImmediate(() => this.step());
    });
  }

  private step(): void {
    if (this.state !== "running") return;
    const next = this.pending.shift();
    if (!next) {
      void this.commitNow();
      return;
    }
    const onHandlerError = (err: unknown) => this.abortWith(idbError("AbortError", `a request handler threw: ${(err as Error)?.message ?? String(err)}`));
    let result: unknown;
    try {
      result = next.op();
    } catch (err) {
      const error = err instanceof DOMException ? err : idbError("UnknownError", (err as Error)?.message ?? String(err));
      next.req.fail(error);
      const handled = next.req.dispatch("error", { bubbles: true, cancelable: true }, onHandlerError);
      if (!handled) this.abortWith(error);
      else if (this.state === "running") this.scheduleStep();
      return;
    }
    next.req.succeed(result);
    next.req.dispatch("success", {}, onHandlerError);
    if (this.state === "running") this.scheduleStep();
  }

  private async commitNow(): Promise<void> {
    this.state = "committing";
    const handle = this.db.handle;
    try {
      if (!this.log.empty) await handle.persist(this.log.change(handle.state));
    } catch (err) {
      this.log.rollback();
      this.error = idbError("UnknownError", `the crypto store could not be saved: ${(err as Error)?.message ?? String(err)}`);
      this.state = "finished";
      handle.reportCommitFailure(err);
      this.dispatch("abort", { bubbles: true });
      this.onFinish?.(false);
      handle.finished(this);
      return;
    }
    this.state = "finished";
    this.dispatch("complete");
    this.onFinish?.(true);
    handle.finished(this);
  }

  /** @internal: undoes everything now; the events follow in the next turn. */
  abortWith(error: DOMException | null): void {
    if (this.state === "finished" || this.state === "committing") return;
    const wasQueued = this.state === "queued";
    this.error = error;
    this.log.rollback();
    this.state = "finished";
    if (wasQueued) this.db.handle.unqueue(this);
    setImmediate(() => {
      for (const { req } of this.pending.splice(0)) {
        req.fail(idbError("AbortError", "the transaction was aborted"));
        req.dispatch("error", { bubbles: true, cancelable: true });
      }
      this.dispatch("abort", { bubbles: true });
      this.onFinish?.(false);
      if (!wasQueued) this.db.handle.finished(this);
    });
  }
}
