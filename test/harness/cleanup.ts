// Work to do once after the whole test run (run by the mocha root hook). Kept apart from the fixture so the
// root hook does not load the bridge's modules into runs that never start a Synapse.
const cleanups = new Set<() => Promise<void>>();

export function registerCleanup(fn: () => Promise<void>): void {
  cleanups.add(fn);
}

/** Runs every registered cleanup (each once), collecting failures so one cannot hide another. */
export async function runCleanups(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  const results = await Promise.allSettled(pending.map((fn) => fn()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as unknown);
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, "several test cleanups failed");
}
