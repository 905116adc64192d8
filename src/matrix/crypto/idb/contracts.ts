// What the object stores, indexes and cursors need of their transaction and its database, as interfaces: the
// IndexedDB object graph points both ways (a transaction makes stores, a store places requests in its transaction),
// and these keep the modules from importing each other in a circle.
import type { RecordChange } from "../record-store.js";
import type { ChangeLog, DatabaseState } from "./database-state.js";
import type { IdbEventTarget } from "./events.js";
import type { IDBRequest } from "./request.js";

export type TransactionMode = "readonly" | "readwrite" | "versionchange";
export type TransactionState = "queued" | "running" | "committing" | "finished";

/** One loaded database: its content, and the scheduler its transactions report to. */
export interface DatabaseHandleLike {
  readonly name: string;
  readonly state: DatabaseState;
  persist(change: RecordChange): Promise<void>;
  finished(tx: unknown): void;
  unqueue(tx: unknown): void;
  reportCommitFailure(err: unknown): void;
}

/** A connection (IDBDatabase): events bubble to it; it knows its loaded database. */
export interface ConnectionLike extends IdbEventTarget {
  readonly handle: DatabaseHandleLike;
}

export interface TransactionLike {
  readonly mode: TransactionMode;
  readonly state: TransactionState;
  readonly log: ChangeLog;
  readonly db: ConnectionLike;
  assertActive(): void;
  assertWritable(): void;
  place(source: unknown, op: () => unknown, req?: IDBRequest): IDBRequest;
}
