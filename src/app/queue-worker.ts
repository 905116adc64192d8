// Drains a durable queue: the heads that are due run concurrently (one per chat, so order holds within a chat),
// failures are retried with backoff, and an entry that keeps failing is given up on with a callback that tells the user.
// An error that says it is permanent (`permanent: true`, e.g. a Matrix 413) is given up on at once: retrying
// would fail the same way, and the chat's later entries wait behind it.
import type { Logger } from "pino";
import { StoreError } from "../sql/sql.js";
import { backoffDelay } from "../util/backoff.js";

export interface QueueOps<T> {
  name: string;
  /** Due heads, at most one per ordering key. */
  due(now: number): Promise<T[]>;
  key(item: T): string;
  attempts(item: T): number;
  handle(item: T): Promise<void>;
  done(item: T): Promise<void>;
  retryLater(item: T, error: string, notBefore: number): Promise<void>;
  /** Called instead of retrying once attempts reach maxAttempts; the item is then removed. */
  giveUp(item: T, error: unknown): Promise<void>;
  maxAttempts: number;
}

export class QueueWorker<T> {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  // Stopped until start(): the appservice intake queues (and kicks) before the crypto engine and the rest of the
  // runtime are up, and an encrypted event handled then would reach the core undecrypted and be consumed.
  private stopped = true;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly ops: QueueOps<T>,
    private readonly log: Logger,
    private readonly pollMs = 1000,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  /** Something was queued: look now rather than at the next poll. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.pass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running || this.inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async pass(): Promise<void> {
    this.running = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      do {
        this.again = false;
        const items = (await this.ops.due(Date.now())).filter((i) => !this.inFlight.has(this.ops.key(i)));
        for (const item of items) void this.process(item);
      } while (this.again && !this.stopped);
    } catch (err) {
      this.log.error({ err, queue: this.ops.name }, "queue pass failed");
    } finally {
      this.running = false;
      if (!this.stopped) this.timer = setTimeout(() => this.kick(), this.pollMs);
    }
  }

  private async process(item: T): Promise<void> {
    const key = this.ops.key(item);
    this.inFlight.add(key);
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
        await this.settle(() => this.ops.retryLater(item, message, Date.now() + delay));
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
