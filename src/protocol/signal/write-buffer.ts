// Pending writes of one unit of work over one table: reads see the pending writes first, then the database.
export class WriteBuffer<Row> {
  private readonly pending = new Map<string, Row | null>();

  constructor(private readonly load: (key: string) => Promise<Row | undefined>) {}

  async get(key: string): Promise<Row | undefined> {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined;
    return this.load(key);
  }

  set(key: string, row: Row): void {
    this.pending.set(key, row);
  }

  delete(key: string): void {
    this.pending.set(key, null);
  }

  /** Rows from the database (with their keys) overlaid with the pending writes, filtered by `keep`. */
  merge(fromDb: Iterable<[string, Row]>, keep: (row: Row) => boolean): Row[] {
    const merged = new Map<string, Row>();
    for (const [key, row] of fromDb) {
      if (!this.pending.has(key)) merged.set(key, row);
    }
    for (const [key, row] of this.pending) {
      if (row !== null && keep(row)) merged.set(key, row);
    }
    return [...merged.values()];
  }

  get size(): number {
    return this.pending.size;
  }

  /** Pending writes: a row to upsert, or null to delete. */
  entries(): IterableIterator<[string, Row | null]> {
    return this.pending.entries();
  }
}
