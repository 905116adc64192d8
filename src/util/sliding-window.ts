// Counts events per key over a sliding window, in memory, for flood limits whose window is short enough that a
// restart forgetting it is harmless (at most one window). Bounded in keys: past `maxKeys` the key seen least
// recently is forgotten, so a flood of distinct senders cannot grow it without end.

export class SlidingWindow {
  private readonly times = new Map<string, number[]>();
  private lastPrune = 0;

  constructor(
    readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** 0 when one more event of `key` fits under `limit` now; otherwise how long until it does. */
  retryAfterMs(key: string, limit: number, now = Date.now()): number {
    const times = this.recent(key, now);
    if (times.length < limit) return 0;
    return Math.max(1, times[times.length - limit]! + this.windowMs - now);
  }

  /** Counts one event of `key`. */
  add(key: string, now = Date.now()): void {
    const times = this.recent(key, now);
    times.push(now);
    // Re-inserted, so that Map order is least recently counted first.
    this.times.delete(key);
    this.times.set(key, times);
    if (this.times.size > this.maxKeys) this.times.delete(this.times.keys().next().value!);
    this.prune(now);
  }

  /** How many events of `key` fall in the window ending now. */
  count(key: string, now = Date.now()): number {
    return this.recent(key, now).length;
  }

  /** The key's times within the window (older ones dropped). */
  private recent(key: string, now: number): number[] {
    const times = this.times.get(key);
    if (!times) return [];
    let drop = 0;
    while (drop < times.length && times[drop]! <= now - this.windowMs) drop++;
    if (drop > 0) times.splice(0, drop);
    if (times.length === 0) this.times.delete(key);
    return times;
  }

  /** Forgets idle keys, at most once a window. */
  private prune(now: number): void {
    if (now - this.lastPrune < this.windowMs) return;
    this.lastPrune = now;
    for (const key of [...this.times.keys()]) this.recent(key, now);
  }
}
