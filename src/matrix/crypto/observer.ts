// What the crypto engine reports about its work, for metrics: each Megolm/Olm operation with its outcome and time,
// and how long loading a device's crypto store took. Optional; the engine works the same without one.

export type CryptoOperation = "megolm_encrypt" | "megolm_decrypt" | "olm_to_device";

export interface CryptoObserver {
  /** `outcome` is "ok", "error", or for decryption the DecryptOutcome kind. */
  operation(operation: CryptoOperation, outcome: string, seconds: number): void;
  /** A device's machine was loaded from its crypto store (IndexedDB over SQLite). */
  storeOpened(seconds: number): void;
}

/** Runs `fn` and reports it; the outcome is "error" when it throws, else what `outcomeOf` says. */
export async function observed<T>(observer: CryptoObserver | undefined, operation: CryptoOperation, fn: () => Promise<T>, outcomeOf: (value: T) => string = () => "ok"): Promise<T> {
  if (!observer) return fn();
  const started = performance.now();
  let outcome = "error";
  try {
    const value = await fn();
    outcome = outcomeOf(value);
    return value;
  } finally {
    observer.operation(operation, outcome, (performance.now() - started) / 1000);
  }
}
