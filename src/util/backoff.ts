// Exponential backoff with full jitter, capped.
export function backoffDelay(attempt: number, baseMs = 500, capMs = 5 * 60_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
