/**
 * When and how long the client-server API client waits before trying a request again.
 */
import { backoffDelay } from "../util/backoff.js";

export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** Delay before the first retry; doubles for each further one. */
  baseDelayMs: number;
  /** Upper bound for one backoff delay. */
  maxDelayMs: number;
  /**
   * A 429 asking us to wait longer than this is handed to the caller (with `retryAfterMs`) instead of blocking here:
   * the durable outbox can reschedule without holding a request open for minutes.
   */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Exponential backoff with jitter for the retry numbered `retry` (0 for the first). The jitter keeps many puppets
 * that failed together from hammering the homeserver in lockstep; half the delay is fixed so it never collapses to 0.
 */
export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return backoffDelay(retry, { initialMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, random });
}

/** Reads a wait time from a 429 answer: the JSON `retry_after_ms`, else the `Retry-After` header (seconds). */
export function retryAfterFrom(body: unknown, retryAfterHeader: string | null): number | undefined {
  if (typeof body === "object" && body !== null) {
    const value = (body as { retry_after_ms?: unknown }).retry_after_ms;
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) return value;
  }
  if (retryAfterHeader !== null && retryAfterHeader.trim() !== "") {
    const seconds = Number(retryAfterHeader.trim());
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(retryAfterHeader);
    if (!Number.isNaN(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}
