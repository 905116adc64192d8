// IDBKeyRange: an interval of keys, kept also as encoded bounds so that matching is a byte comparison.
import { idbError } from "./errors.js";
import { encodeKey, type IdbKey } from "./key-codec.js";

export class IDBKeyRange {
  /** @internal */ readonly lowerBytes: Buffer | undefined;
  /** @internal */ readonly upperBytes: Buffer | undefined;

  private constructor(
    readonly lower: IdbKey | undefined,
    readonly upper: IdbKey | undefined,
    readonly lowerOpen: boolean,
    readonly upperOpen: boolean,
  ) {
    this.lowerBytes = lower === undefined ? undefined : encodeKey(lower);
    this.upperBytes = upper === undefined ? undefined : encodeKey(upper);
    if (this.lowerBytes && this.upperBytes) {
      const c = Buffer.compare(this.lowerBytes, this.upperBytes);
      if (c > 0 || (c === 0 && (lowerOpen || upperOpen))) throw idbError("DataError", "the lower bound of the key range is above its upper bound");
    }
  }

  static only(value: IdbKey): IDBKeyRange {
    return new IDBKeyRange(value, value, false, false);
  }

  static lowerBound(lower: IdbKey, open = false): IDBKeyRange {
    return new IDBKeyRange(lower, undefined, open, true);
  }

  static upperBound(upper: IdbKey, open = false): IDBKeyRange {
    return new IDBKeyRange(undefined, upper, true, open);
  }

  static bound(lower: IdbKey, upper: IdbKey, lowerOpen = false, upperOpen = false): IDBKeyRange {
    return new IDBKeyRange(lower, upper, lowerOpen, upperOpen);
  }

  includes(key: IdbKey): boolean {
    return this.includesBytes(encodeKey(key));
  }

  /** @internal */
  includesBytes(k: Buffer): boolean {
    return this.aboveLower(k) && this.belowUpper(k);
  }

  /** @internal */
  aboveLower(k: Buffer): boolean {
    if (!this.lowerBytes) return true;
    const c = Buffer.compare(k, this.lowerBytes);
    return this.lowerOpen ? c > 0 : c >= 0;
  }

  /** @internal */
  belowUpper(k: Buffer): boolean {
    if (!this.upperBytes) return true;
    const c = Buffer.compare(k, this.upperBytes);
    return this.upperOpen ? c < 0 : c <= 0;
  }
}

/** A key or a range as the query argument of get/getAll/count/openCursor; undefined means every key. */
export function toRange(query: unknown, nullMeansAll = true): IDBKeyRange | undefined {
  if (query === undefined || (query === null && nullMeansAll)) return undefined;
  if (query instanceof IDBKeyRange) return query;
  return IDBKeyRange.only(query as IdbKey);
}
