// A closed-loop load generator: a fixed number of messages in flight, each slot sending the next message only once
// its previous one arrived. Latency is then the system's, not time spent waiting in the generator's own queue.
import type { ArrivalTracker } from "./arrivals.js";
import { BenchFailure } from "./failure.js";

export interface LoadOptions {
  n: number;
  concurrency: number;
  /** A message that has not arrived this long after it was sent fails the run. */
  timeoutMs: number;
  tracker: ArrivalTracker;
  /** Sends message `i` whose text is `text`; resolves once the sending side accepted it. */
  send(i: number, text: string): Promise<void>;
  /** Checked twice a second: a reason to stop the run now (say, the homeserver saw requests it cannot answer). */
  stopReason?(): string | undefined;
}

export interface LoadResult {
  /** Arrival time minus send time, per message, in ms. */
  latenciesMs: number[];
  firstSentAt: number;
  lastArrivedAt: number;
}

export async function runClosedLoop(o: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let next = 0;
  let failure: unknown;
  let lastArrivedAt = 0;
  const firstSentAt = Date.now();
  let stopNow: (reason: Error) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (stopNow = reject));
  stopped.catch(() => {});
  const watchdog = setInterval(() => {
    const reason = o.stopReason?.();
    if (reason !== undefined) stopNow(new BenchFailure(reason));
  }, 500);

  const slot = async (): Promise<void> => {
    while (failure === undefined && next < o.n) {
      const i = next++;
      const text = o.tracker.key(i);
      const arrived = o.tracker.expect(text);
      const sentAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BenchFailure(`message ${i} (${JSON.stringify(text)}) did not arrive within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
      });
      try {
        await Promise.race([o.send(i, text), late, stopped]);
        const at = await Promise.race([arrived, late, stopped]);
        latenciesMs.push(at - sentAt);
        if (at > lastArrivedAt) lastArrivedAt = at;
      } catch (err) {
        failure ??= err;
      } finally {
        clearTimeout(timer);
      }
    }
  };

  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.n) }, slot)).finally(() => clearInterval(watchdog));
  if (failure !== undefined) {
    const got = latenciesMs.length;
    const reason = failure instanceof Error ? failure.message : String(failure);
    throw new BenchFailure(`${reason} (${got} of ${o.n} messages had arrived when the run stopped)`);
  }
  return { latenciesMs, firstSentAt, lastArrivedAt };
}
