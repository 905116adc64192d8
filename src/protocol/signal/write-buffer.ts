// Pending writes of one unit of work over one table: reads see the pending writes first, then the database. A row
// read once is not read again in the same unit (libsignal asks for one session several times per message); the
// unit's commit checks the device's version, so a row another unit changed meanwhile fails the commit either way.
export class WriteBuffer<Row> {
  private readonly pending = new Map<string, Row | null>();
  private readonly loaded = new Map<string, Row | undefined>();

  constructor(private readonly load: (key: string) => Promise<Row | undefined>) {}

  async get(key: string): Promise<Row | undefined> {
    if (this.pending.has(key)) return this.pending.get(key) ?? undefined;
    if (this.loaded.has(key)) return this.loaded.get(key);
    const row = await this.load(key);
    this.loaded.set(key, row);
    return row;
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
