// Which transaction the calling async context is in, and how nested calls become savepoints. Shared by both engines.
import { AsyncLocalStorage } from "node:async_hooks";

export interface TxScope<Conn> {
  conn: Conn;
  /** Savepoints opened inside the transaction so far (for unique names). */
  savepoints: number;
  /** What to run once the transaction has ended (afterTransaction). */
  after?: (() => void)[];
}

export class TxScopes<Conn> {
  private readonly storage = new AsyncLocalStorage<TxScope<Conn>>();

  current(): TxScope<Conn> | undefined {
    return this.storage.getStore();
  }

  run<T>(scope: TxScope<Conn>, fn: () => Promise<T>): Promise<T> {
    return this.storage.run(scope, fn);
  }

  /** Queues fn for the end of the current transaction, or runs it now outside one. */
  afterTransaction(fn: () => void): void {
    const scope = this.current();
    if (scope) (scope.after ??= []).push(fn);
    else fn();
  }

  /** The outermost transaction of `scope` ended: runs what waited for that (a failing callback does not stop the rest). */
  ended(scope: TxScope<Conn>): void {
    const after = scope.after;
    scope.after = undefined;
    for (const fn of after ?? []) {
      try {
        fn();
      } catch {
        // Callbacks are notifications; one that throws has no caller to tell.
      }
    }
  }

  /** Runs fn inside the current transaction as a savepoint: a failure rolls back fn's statements only. */
  async nested<T>(scope: TxScope<Conn>, exec: (sql: string) => Promise<void> | void, fn: () => Promise<T>): Promise<T> {
    const name = `sp${++scope.savepoints}`;
    await exec(`SAVEPOINT ${name}`);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await exec(`ROLLBACK TO SAVEPOINT ${name}`);
      await exec(`RELEASE SAVEPOINT ${name}`);
      throw err;
    }
    await exec(`RELEASE SAVEPOINT ${name}`);
    return result;
  }
}
