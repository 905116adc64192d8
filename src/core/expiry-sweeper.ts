// Redacts the Matrix events of disappearing messages when their time is up. The schedule lives in the store
// (store/disappearing.ts), so the sweeper holds nothing but a timer for the next due time: after a restart it picks up
// what fell due while the bridge was down.
import type { CoreContext } from "./context.js";
import { expiryTxn } from "./disappearing.js";

/** Re-read the schedule at least this often, so a clock jump or a missed wake-up costs at most this much. */
const MAX_SLEEP_MS = 60_000;
const BATCH = 50;
/** A redaction that keeps failing (room gone, power taken away) is given up after this many tries. */
const MAX_ATTEMPTS = 8;
const RETRY_BASE_MS = 5_000;
export const EXPIRED_REASON = "Disappeared (disappearing messages)";

export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private running: Promise<void> | undefined;
  private again = false;
  /** Timers run only between start() and stop(); sweep() itself works either way (tests call it directly). */
  private started = false;
  private stopping = false;

  constructor(
    private readonly ctx: CoreContext,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.started = true;
    this.stopping = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Something is due at `at` (ms): sweep then, or now. */
  wake(at: number): void {
    if (!this.started || at >= this.wakeAt) return;
    this.arm(at);
  }

  /** Sweeps now (and then sleeps until the next due time). */
  kick(): void {
    if (!this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.sweep().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Redacts everything due; the returned promise settles when this sweep is over (tests await it). */
  async sweep(): Promise<void> {
    const { ctx } = this;
    try {
      for (;;) {
        const due = await ctx.store.disappearing.due(this.now(), BATCH);
        if (due.length === 0) break;
        for (const e of due) {
          if (this.stopping) return;
          try {
            await ctx.matrix.redact(e.redactAs, e.roomId, e.eventId, expiryTxn(e.eventId), EXPIRED_REASON);
            await ctx.store.disappearing.done(e.roomId, e.eventId);
          } catch (err) {
            if (e.attempts + 1 >= MAX_ATTEMPTS) {
              ctx.log.warn({ err, room: e.roomId, event: e.eventId }, "gave up redacting an expired disappearing message");
              await ctx.store.disappearing.done(e.roomId, e.eventId);
            } else {
              ctx.log.info({ err, room: e.roomId, event: e.eventId, attempts: e.attempts + 1 }, "could not redact an expired disappearing message yet; trying again");
              await ctx.store.disappearing.retryLater(e.roomId, e.eventId, this.now() + RETRY_BASE_MS * 2 ** e.attempts);
            }
          }
        }
      }
      const next = await ctx.store.disappearing.nextDue();
      this.arm(next ?? this.now() + MAX_SLEEP_MS);
    } catch (err) {
      // The store is unavailable for now: look again a little later.
      ctx.log.warn({ err }, "sweeping expired disappearing messages failed; trying again shortly");
      this.arm(this.now() + RETRY_BASE_MS);
    }
  }

  private arm(at: number): void {
    if (!this.started) return;
    clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, at - this.now()), MAX_SLEEP_MS);
    this.wakeAt = this.now() + delay;
    this.timer = setTimeout(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, delay).unref();
  }
}
