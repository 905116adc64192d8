// Entries kept sorted by their encoded key: binary search to find, splice to insert. The crypto stores hold hundreds
// to a few thousand records per object store, where this beats a tree on both speed and memory.
import type { IDBKeyRange } from "./key-range.js";

export interface Keyed {
  readonly k: Buffer;
}

export class SortedList<E extends Keyed> {
  readonly items: E[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The first position whose key is >= k (or > k when `after`). */
  position(k: Buffer, after = false): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = Buffer.compare(this.items[mid]!.k, k);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(k: Buffer): E | undefined {
    const i = this.position(k);
    const e = this.items[i];
    return e && e.k.equals(k) ? e : undefined;
  }

  /** Inserts or replaces; returns the entry it replaced. */
  put(entry: E): E | undefined {
    const i = this.position(entry.k);
    const old = this.items[i];
    if (old && old.k.equals(entry.k)) {
      this.items[i] = entry;
      return old;
    }
    this.items.splice(i, 0, entry);
    return undefined;
  }

  delete(k: Buffer): E | undefined {
    const i = this.position(k);
    const old = this.items[i];
    if (!old || !old.k.equals(k)) return undefined;
    this.items.splice(i, 1);
    return old;
  }

  clear(): void {
    this.items.length = 0;
  }

  /**
   * The first entry in `range` whose key is above `from` (if given), in key order. `rangeKey` is what the range
   * bounds apply to: the entry's own key, or (in an index) the index key that its key starts with. `seek`: the
   * first whose range key is at least this.
   */
  firstIn(range: IDBKeyRange | undefined, from?: Buffer, rangeKey: (e: E) => Buffer = (e) => e.k, seek?: Buffer): E | undefined {
    let i = from ? this.position(from, true) : 0;
    if (seek) i = Math.max(i, this.position(seek));
    if (range?.lowerBytes) i = Math.max(i, this.position(range.lowerBytes));
    let e = this.items[i];
    while (e && range && !range.aboveLower(rangeKey(e))) e = this.items[++i];
    if (!e || (range && !range.belowUpper(rangeKey(e)))) return undefined;
    return e;
  }

  /** Entries in `range`, in key order, at most `limit`. */
  *inRange(range: IDBKeyRange | undefined, limit = Infinity, rangeKey: (e: E) => Buffer = (e) => e.k): Generator<E> {
    let i = range?.lowerBytes ? this.position(range.lowerBytes) : 0;
    let n = 0;
    for (; n < limit && i < this.items.length; i++) {
      const e = this.items[i]!;
      if (range && !range.aboveLower(rangeKey(e))) continue;
      if (range && !range.belowUpper(rangeKey(e))) return;
      n++;
      yield e;
    }
  }
}
