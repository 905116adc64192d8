// Retry delays, one formula for every retry in the bridge (gatekeeper reconnects, envelope handling, queue entries,
// Matrix requests): exponential growth with "equal jitter", half fixed and half random, so that many clients that
// failed together do not retry in the same instant, yet no delay collapses to zero.

export interface BackoffOptions {
  /** First delay in ms (default 500). */
  initialMs?: number;
  /** Upper bound in ms (default 30 s). */
  maxMs?: number;
  /** Growth per attempt (default 2). */
  factor?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/** The delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialMs = 500, maxMs = 30_000, factor = 2, random = Math.random } = options;
  // Capping the exponent keeps a long-failing entry from reaching Infinity.
  const ceiling = Math.min(maxMs, initialMs * factor ** Math.min(attempt, 64));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Consecutive failures counted, for callers that retry in a loop (a connection that reconnects). */
export class Backoff {
  private attempt = 0;
  private readonly options: BackoffOptions;

  constructor(options: BackoffOptions = {}) {
    const { initialMs = 500, maxMs = 30_000, factor = 2 } = options;
    if (!(initialMs > 0) || !(maxMs >= initialMs) || !(factor >= 1)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs and factor >= 1");
    }
    this.options = options;
  }

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    return backoffDelay(this.attempt++, this.options);
  }

  reset(): void {
    this.attempt = 0;
  }
}
