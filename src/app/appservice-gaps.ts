// Synapse numbers its appservice transactions 1, 2, 3, … and, right after it recovers an appservice that was down,
// can leave one of them unsent: a transaction created while the recoverer finishes is picked up by neither the
// recoverer nor the normal sender, and goes out only at the next recovery, which may be hours later (seen here as
// transaction 143 arriving after 483; it cost the burst test "burst-out 45"). To the bridge that is a gap in the
// numbers. A ping does not help (the appservice counts as up), but a failed transaction does: the transaction after
// the gap is answered with an error, so Synapse marks the appservice down and its recoverer sends every unsent
// transaction again, oldest first, the skipped one included; events keep their order per room. If the gap is still
// open after the wait, transactions are taken as they come (the skipped one, when it comes later, is still queued:
// late, never lost).
//
// Transaction IDs are opaque in the spec: IDs that are not plain numbers pass straight through, and a number lower
// than expected (a resend, a late transaction, or a homeserver that started counting again) is queued at once.
import type { Logger } from "pino";
import type { TransactionSink } from "../matrix/appservice-server.js";
import type { AppserviceTransaction } from "../matrix/transaction.js";
import { CRYPTO_LANE, type InboundItem } from "../store/appservice-queue.js";
import type { BridgeStore } from "../store/store.js";

export interface GapGuardOptions {
  store: BridgeStore;
  /** Something was queued: the inbound worker should look. */
  onQueued: () => void;
  /**
   * A transaction numbered lower than expected came: a resend (the homeserver missed our answer) or a restart.
   * Awaited before the transaction is queued.
   */
  onResend?: (txnId: string) => Promise<void>;
  log: Logger;
  /** How long transactions after a gap are refused before they are taken anyway (default 30 s: Synapse's recoverer
   * retries after 2, then 4, 8 and 16 s). */
  waitMs?: number;
}

/** Answered as a failure, so that the homeserver sends the transaction again later (after the skipped one). */
export class TransactionGapError extends Error {
  override readonly name = "TransactionGapError";
}

export class AppserviceGapGuard implements TransactionSink {
  private readonly waitMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  /** When the current gap was first seen; undefined while there is none. */
  private gapSince: number | undefined;

  constructor(private readonly options: GapGuardOptions) {
    this.waitMs = options.waitMs ?? 30_000;
  }

  accept(txnId: string, txn: AppserviceTransaction): Promise<void> {
    // One transaction at a time: the order they are taken in is the order they are queued in.
    const run = this.chain.then(() => this.acceptNow(txnId, inboundItems(txn)));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async acceptNow(txnId: string, items: InboundItem[]): Promise<void> {
    const { store, log } = this.options;
    const n = txnNumber(txnId);
    if (n !== undefined && this.options.onResend) {
      const expected = await store.appservice.expectedTxn();
      if (expected !== undefined && n < expected) await this.options.onResend(txnId);
    }
    const queued = await store.transaction(async () => {
      const expected = await store.appservice.expectedTxn();
      if (n === undefined || (expected !== undefined && n < expected)) return store.appservice.accept(txnId, items);
      // A jump far past what a skip leaves behind is no gap to wait for: the homeserver's numbering moved on (an old
      // transaction came first to a new database, or the homeserver's store was reset).
      if (expected !== undefined && n !== expected && n <= expected + MAX_SKIP) {
        const now = Date.now();
        this.gapSince ??= now;
        if (now - this.gapSince < this.waitMs) {
          log.warn({ expected, received: n }, "the homeserver skipped an appservice transaction; refusing the later ones until it resends it");
          throw new TransactionGapError(`waiting for transaction ${expected} before ${n}`);
        }
        log.warn({ missing: { from: expected, to: n - 1 } }, "skipped appservice transactions did not come; taking the later ones without them");
      }
      this.gapSince = undefined;
      await store.appservice.setExpectedTxn(n + 1);
      return store.appservice.accept(txnId, items);
    });
    if (queued > 0) this.options.onQueued();
  }
}

/** Synapse's race leaves one transaction (rarely a few) behind; a wider jump is not waited for. */
const MAX_SKIP = 20;

/** The transaction's number when its ID is a plain decimal number (as Synapse's are). */
function txnNumber(txnId: string): number | undefined {
  if (!/^\d{1,15}$/.test(txnId)) return undefined;
  return Number(txnId);
}

/** A transaction's contents as the durable queue keeps them. */
export function inboundItems(txn: AppserviceTransaction): InboundItem[] {
  const items: InboundItem[] = [];
  for (const ev of txn.events) items.push({ kind: "event", roomId: ev.room_id, payload: ev });
  for (const ev of txn.ephemeral) {
    const roomId = typeof (ev as { room_id?: unknown }).room_id === "string" ? (ev as { room_id: string }).room_id : undefined;
    items.push({ kind: "ephemeral", roomId, payload: ev });
  }
  // Kept for the Matrix E2EE engine, which consumes them in order per device.
  for (const ev of txn.toDevice) items.push({ kind: "to_device", roomId: CRYPTO_LANE, payload: ev });
  if (txn.deviceLists.changed.length || txn.deviceLists.left.length) {
    items.push({ kind: "device_lists", roomId: CRYPTO_LANE, payload: txn.deviceLists });
  }
  if (Object.keys(txn.oneTimeKeyCounts).length || Object.keys(txn.unusedFallbackKeyTypes).length) {
    items.push({ kind: "key_counts", roomId: CRYPTO_LANE, payload: { otk: txn.oneTimeKeyCounts, fallback: txn.unusedFallbackKeyTypes } });
  }
  return items;
}
