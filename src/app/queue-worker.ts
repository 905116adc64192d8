// Drains a durable queue: the heads that are due run concurrently (one per chat, so order holds within a chat),
// failures are retried with backoff, and an entry that keeps failing is given up on with a callback that tells the user.
// An error that says it is permanent (`permanent: true`, e.g. a Matrix 413) is given up on at once: retrying
// would fail the same way, and the chat's later entries wait behind it.
//
// The worker looks for due entries when told something was queued (the store's event, or a kick), when an entry
// finishes, and when a retry falls due; many of these in one turn of the event loop make one look. A slow poll is
// only the safety net for a wake-up that was missed (e.g. an entry written by another process).
import type { Logger } from "pino";
import { StoreError } from "../sql/sql.js";
import { backoffDelay } from "../util/backoff.js";

export interface QueueOps<T> {
  name: string;
  /**
   * Due heads, at most one per ordering key. `busy` are the entries being handled now (heads of their chats): the
   * store may leave them out, so their payloads are not read again for nothing.
   */
  due(now: number, busy: readonly T[]): Promise<T[]>;
  /** Subscribes to "entries were queued" (called once they are committed); returns the unsubscribe. */
  onQueued?(listener: () => void): () => void;
  key(item: T): string;
  attempts(item: T): number;
  handle(item: T): Promise<void>;
  done(item: T): Promise<void>;
  retryLater(item: T, error: string, notBefore: number): Promise<void>;
  /** Called instead of retrying once attempts reach maxAttempts; the item is then removed. */
  giveUp(item: T, error: unknown): Promise<void>;
  maxAttempts: number;
}

/** The safety-net poll when the store tells the worker about new entries; without that event, the old 1 s. */
const SAFETY_POLL_MS = 5_000;
const POLL_MS = 1_000;

export class QueueWorker<T> {
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (the poll or the earliest retry), to keep the earlier of two. */
  private timerAt = Number.POSITIVE_INFINITY;
  private running = false;
  private scheduled = false;
  private again = false;
  // Stopped until start(): the appservice intake queues (and kicks) before the crypto engine and the rest of the
  // runtime are up, and an encrypted event handled then would reach the core undecrypted and be consumed.
  private stopped = true;
  private readonly inFlight = new Map<string, T>();
  private unsubscribe: (() => void) | undefined;
  private readonly pollMs: number;

  constructor(
    private readonly ops: QueueOps<T>,
    private readonly log: Logger,
    pollMs?: number,
  ) {
    this.pollMs = pollMs ?? (ops.onQueued ? SAFETY_POLL_MS : POLL_MS);
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe ??= this.ops.onQueued?.(() => this.kick());
    this.kick();
  }

  /** Something was queued: look soon (once for all kicks of this turn) rather than at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped && !this.running) void this.pass();
      else if (this.running) this.again = true;
    });
  }

  /** Whether an entry of this ordering key is being handled now. */
  busy(key: string): boolean {
    return this.inFlight.has(key);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clearTimer();
    while (this.running || this.scheduled || this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async pass(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        const items = (await this.ops.due(Date.now(), [...this.inFlight.values()])).filter((i) => !this.inFlight.has(this.ops.key(i)));
        for (const item of items) void this.process(item);
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.error({ err, queue: this.ops.name }, "queue pass failed");
    } finally {
      this.running = false;
      if (!this.stopped) this.wakeAt(Date.now() + this.pollMs);
    }
  }

  /** Looks again at `at`, or earlier when a look is already set for earlier. */
  private wakeAt(at: number): void {
    if (this.stopped) return;
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(0, at - Date.now()));
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private async process(item: T): Promise<void> {
    const key = this.ops.key(item);
    this.inFlight.set(key, item);
    let handled = false;
    try {
      await this.ops.handle(item);
      handled = true;
      await this.settle(() => this.ops.done(item));
    } catch (err) {
      if (handled) return; // only when stopped while settling: the entry stays queued and is handled again on start

      const attempts = this.ops.attempts(item) + 1;
      const message = err instanceof Error ? err.message : String(err);
      const permanent = isPermanent(err);
      // A full disk or an unreachable database says nothing about the entry: it waits as long as the outage lasts.
      const outage = err instanceof StoreError && (err.code === "disk-full" || err.code === "unavailable");
      if (permanent || (attempts >= this.ops.maxAttempts && !outage)) {
        this.log.error({ err, queue: this.ops.name, attempts, permanent }, permanent ? "giving up on a queue entry: the error is permanent" : "giving up on a queue entry");
        try {
          await this.ops.giveUp(item, err);
        } catch (e) {
          this.log.error({ err: e, queue: this.ops.name }, "could not report a failed entry");
        }
        await this.settle(() => this.ops.done(item));
      } else {
        const hinted = (err as { afterMs?: unknown } | null)?.afterMs;
        const delay = Math.max(backoffDelay(attempts, { initialMs: 500, maxMs: 5 * 60_000 }), typeof hinted === "number" ? hinted : 0);
        this.log.warn({ queue: this.ops.name, attempts, retryInMs: delay, error: message }, "queue entry failed; will retry");
        const notBefore = Date.now() + delay;
        await this.settle(() => this.ops.retryLater(item, message, notBefore));
        this.wakeAt(notBefore);
      }
    } finally {
      this.inFlight.delete(key);
      if (!this.stopped) this.kick();
    }
  }

  /**
   * Records what became of a handled entry. Disk full or the database gone: the outcome is known but not written.
   * The chat stays blocked and the write is retried; moving on without it would handle the entry twice.
   */
  private async settle(write: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (this.stopped) throw err;
        const delay = backoffDelay(attempt, { initialMs: 200, maxMs: 30_000 });
        this.log.error({ err, queue: this.ops.name, attempt, retryInMs: delay }, "could not record a queue entry's outcome in the database; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/** Errors mark themselves permanent with a `permanent: true` property (MatrixApiError has it as a getter). */
export function isPermanent(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { permanent?: unknown }).permanent === true;
}
