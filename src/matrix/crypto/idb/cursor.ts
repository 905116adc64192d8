// IDBCursor and IDBCursorWithValue over an object store or an index, in key order. Each continue() finds the next
// entry after the current position afresh, so records written or deleted meanwhile are seen as IndexedDB specifies.
import { deserializeValue, placedIndexKeys, serializeValue, type RecordEntry, type StoreState } from "./database-state.js";
import { idbError } from "./errors.js";
import { encodeKey } from "./key-codec.js";
import { IDBRequest } from "./request.js";
import type { IdbKey } from "./key-codec.js";
import type { TransactionLike } from "./contracts.js";

export interface CursorSource {
  /** The IDBObjectStore or IDBIndex the cursor was opened on. */
  owner: unknown;
  store(): StoreState;
  /** The next entry after position `from` (or, with `seek`, the first whose key is at least `seek`). */
  next(from: Buffer | undefined, seek?: Buffer): { pos: Buffer; key: IdbKey; record: RecordEntry } | undefined;
}

export class IDBCursor {
  readonly direction = "next";
  /** @internal */ protected current: { pos: Buffer; key: IdbKey; record: RecordEntry } | undefined;
  private gotValue = false;
  readonly request: IDBRequest;

  /** @internal */
  constructor(
    private readonly tx: TransactionLike,
    private readonly src: CursorSource,
  ) {
    this.request = new IDBRequest();
    this.request.source = src.owner;
  }

  /** @internal */
  static open(tx: TransactionLike, src: CursorSource): IDBRequest {
    const cursor = new this(tx, src);
    return tx.place(src.owner, () => cursor.move(undefined), cursor.request);
  }

  get source(): unknown {
    return this.src.owner;
  }

  get key(): IdbKey | undefined {
    return this.current?.key;
  }

  get primaryKey(): IdbKey | undefined {
    return this.current?.record.key;
  }

  continue(key?: unknown): void {
    this.tx.assertActive();
    if (!this.gotValue) throw idbError("InvalidStateError", "the cursor is moving already or has reached the end");
    let seek: Buffer | undefined;
    if (key !== undefined) {
      seek = encodeKey(key);
      if (this.current && Buffer.compare(seek, encodeKey(this.current.key)) <= 0) throw idbError("DataError", "continue(key) must move the cursor forward");
    }
    this.gotValue = false;
    this.request.reset();
    const from = this.current?.pos;
    this.tx.place(this.src.owner, () => this.move(from, seek), this.request);
  }

  advance(count: number): void {
    if (!Number.isInteger(count) || count < 1) throw new TypeError("advance() needs a positive whole number");
    this.tx.assertActive();
    if (!this.gotValue) throw idbError("InvalidStateError", "the cursor is moving already or has reached the end");
    this.gotValue = false;
    this.request.reset();
    const from = this.current?.pos;
    this.tx.place(this.src.owner, () => {
      let at = from;
      let result: IDBCursor | null = null;
      for (let i = 0; i < count; i++) {
        result = this.move(at);
        if (!result) break;
        at = this.current!.pos;
      }
      return result;
    }, this.request);
  }

  delete(): IDBRequest {
    this.tx.assertWritable();
    const target = this.requireRecord();
    return this.tx.place(this, () => {
      this.tx.db.handle.state.deleteRecord(this.src.store(), target.k, this.tx.log);
      return undefined;
    });
  }

  update(value: unknown): IDBRequest {
    this.tx.assertWritable();
    const target = this.requireRecord();
    const store = this.src.store();
    const v = serializeValue(value);
    const ix = placedIndexKeys(store, value);
    return this.tx.place(this, () => {
      this.tx.db.handle.state.putRecord(this.src.store(), target.key, target.k, v, ix, false, this.tx.log);
      return target.key;
    });
  }

  private requireRecord(): RecordEntry {
    if (!this.gotValue || !this.current) throw idbError("InvalidStateError", "the cursor is not on a record");
    if (!(this instanceof IDBCursorWithValue)) throw idbError("InvalidStateError", "a key cursor cannot change records");
    return this.current.record;
  }

  /** @internal */
  move(from: Buffer | undefined, seek?: Buffer): IDBCursor | null {
    this.current = this.src.next(from, seek);
    if (!this.current) return null;
    this.gotValue = true;
    this.loaded();
    return this;
  }

  protected loaded(): void {}
}

export class IDBCursorWithValue extends IDBCursor {
  private _value: unknown;

  get value(): unknown {
    return this._value;
  }

  protected override loaded(): void {
    this._value = deserializeValue(this.current!.record.v);
  }
}
