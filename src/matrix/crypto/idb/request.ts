// IDBRequest and IDBOpenDBRequest: a result delivered later by a success or error event.
import { idbError } from "./errors.js";
import { IdbEventTarget } from "./events.js";

export class IDBRequest extends IdbEventTarget {
  onsuccess: ((ev: unknown) => unknown) | null = null;
  onerror: ((ev: unknown) => unknown) | null = null;
  readyState: "pending" | "done" = "pending";
  source: unknown = null;
  /** The IDBTransaction it belongs to (open requests: the upgrade transaction while it runs). */
  transaction: IdbEventTarget | null = null;
  private _result: unknown = undefined;
  private _error: DOMException | null = null;

  get result(): unknown {
    if (this.readyState !== "done") throw idbError("InvalidStateError", "the request has not finished");
    return this._result;
  }

  get error(): DOMException | null {
    if (this.readyState !== "done") throw idbError("InvalidStateError", "the request has not finished");
    return this._error;
  }

  protected override parentTarget(): IdbEventTarget | undefined {
    return this.transaction ?? undefined;
  }

  /** @internal */
  succeed(result: unknown): void {
    this.readyState = "done";
    this._result = result;
    this._error = null;
  }

  /** @internal */
  fail(error: DOMException): void {
    this.readyState = "done";
    this._result = undefined;
    this._error = error;
  }

  /** @internal: a cursor's request is used again for each continue(). */
  reset(): void {
    this.readyState = "pending";
  }
}

export class IDBOpenDBRequest extends IDBRequest {
  onupgradeneeded: ((ev: unknown) => unknown) | null = null;
  onblocked: ((ev: unknown) => unknown) | null = null;
}
