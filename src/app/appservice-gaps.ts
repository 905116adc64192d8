// Synapse numbers its appservice transactions 1, 2, 3, … and, right after it recovers an appservice that was down,
// can leave one of them unsent: a transaction created while the recoverer finishes is picked up by neither the
// recoverer nor the normal sender, and goes out only at the next recovery, which may be hours later (seen here as
// transaction 143 arriving after 483; it cost the burst test "burst-out 45"). To the bridge that is a gap in the
// numbers. Transactions after a gap are held (durably: they were answered 200), the homeserver is pinged (a
// successful ping makes Synapse start its recoverer, which sends the oldest unsent transaction), and everything is
// queued in number order once the gap is filled, so events keep their order per room; if the gap stays open past
// the hold time, what is held is queued anyway and the missing numbers are logged (the skipped transaction, when it
// comes later, is still queued: late, never lost).
//
// Transaction IDs are opaque in the spec: IDs that are not plain numbers pass straight through, and a number lower
// than expected (a resend, a late transaction, or a homeserver that started counting again) is queued at once.
import type { Logger } from "pino";
import type { TransactionSink } from "../matrix/appservice-server.js";
import type { AppserviceTransaction } from "../matrix/transaction.js";
import type { InboundItem } from "../store/appservice-queue.js";
import type { BridgeStore } from "../store/store.js";

export interface GapGuardOptions {
  store: BridgeStore;
  /** Something was queued: the inbound worker should look. */
  onQueued: () => void;
  /** Asks the homeserver to check on the appservice (POST …/appservice/{id}/ping). */
  ping: () => Promise<unknown>;
  log: Logger;
  /** How long transactions wait behind a gap before they are queued anyway (default 5 s); a skipped one that comes
   * later is still queued (out of order, but not lost). */
  holdMs?: number;
  /** How often the homeserver is pinged while a gap is open (default 1 s). */
  pingEveryMs?: number;
}

export class AppserviceGapGuard implements TransactionSink {
  private readonly holdMs: number;
  private readonly pingEveryMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  private pingTimer: NodeJS.Timeout | undefined;
  private giveUpTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Whether anything may be held; false spares the in-order path reading the held table. */
  private holding = true;

  constructor(private readonly options: GapGuardOptions) {
    this.holdMs = options.holdMs ?? 5_000;
    this.pingEveryMs = options.pingEveryMs ?? 1_000;
  }

  /** After a restart: what was held before is still waiting for its gap. */
  start(): void {
    this.stopped = false;
    this.watchGap();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.pingTimer);
    clearTimeout(this.giveUpTimer);
    this.pingTimer = this.giveUpTimer = undefined;
  }

  accept(txnId: string, txn: AppserviceTransaction): Promise<void> {
    return this.serialised(() => this.acceptNow(txnId, inboundItems(txn)));
  }

  /** One transaction (or release) at a time: the order they are taken in is the order they are queued in. */
  private serialised(fn: () => void): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private acceptNow(txnId: string, items: InboundItem[]): void {
    const { store } = this.options;
    const n = txnNumber(txnId);
    let queued = 0;
    store.transaction(() => {
      const expected = store.appservice.expectedTxn();
      if (n === undefined || (expected !== undefined && n < expected)) {
        queued += store.appservice.accept(txnId, items);
      } else if (expected === undefined || n === expected || n > expected + MAX_SKIP) {
        // A jump far past what a skip leaves behind is no gap to wait for: the homeserver's numbering moved on (an
        // old transaction came first to a new database, or the homeserver's store was reset).
        queued += store.appservice.accept(txnId, items);
        store.appservice.setExpectedTxn(n + 1);
        if (this.holding) queued += this.releaseContiguous();
      } else {
        store.appservice.hold(n, txnId, items);
        this.holding = true;
        this.options.log.warn({ expected, received: n }, "the homeserver skipped an appservice transaction; holding the later ones and asking it to resend");
      }
    });
    if (queued > 0) this.options.onQueued();
    if (this.holding) this.watchGap();
  }

  /** Queues held transactions that now follow on; returns how many items were new. */
  private releaseContiguous(): number {
    const { appservice } = this.options.store;
    let queued = 0;
    for (const h of appservice.held()) {
      if (h.txnNumber !== appservice.expectedTxn()) break;
      queued += appservice.release(h.txnNumber);
      appservice.setExpectedTxn(h.txnNumber + 1);
    }
    return queued;
  }

  /** While something is held: ping now and then, and give up at the deadline of the oldest hold. */
  private watchGap(): void {
    if (this.stopped) return;
    const held = this.options.store.appservice.held();
    if (held.length === 0) {
      this.holding = false;
      clearTimeout(this.pingTimer);
      clearTimeout(this.giveUpTimer);
      this.pingTimer = this.giveUpTimer = undefined;
      return;
    }
    if (!this.pingTimer) this.schedulePing(0);
    if (!this.giveUpTimer) {
      const wait = Math.max(0, held[0]!.heldAt + this.holdMs - Date.now());
      this.giveUpTimer = setTimeout(() => {
        this.serialised(() => this.giveUp()).catch((err) => this.options.log.error({ err }, "releasing held appservice transactions failed"));
      }, wait);
      this.giveUpTimer.unref();
    }
  }

  private schedulePing(delayMs: number): void {
    this.pingTimer = setTimeout(() => {
      void this.options.ping().catch((err) => this.options.log.warn({ err }, "could not ping the homeserver about a skipped transaction"));
      this.schedulePing(this.pingEveryMs);
    }, delayMs);
    this.pingTimer.unref();
  }

  /** The gap did not close in time: queue what is held, in order, and move on past it. */
  private giveUp(): void {
    this.giveUpTimer = undefined;
    const { store, log } = this.options;
    let queued = 0;
    store.transaction(() => {
      const held = store.appservice.held();
      if (held.length === 0) return;
      const missing: number[] = [];
      let expected = store.appservice.expectedTxn() ?? held[0]!.txnNumber;
      for (const h of held) {
        for (let k = expected; k < h.txnNumber && missing.length < 20; k++) missing.push(k);
        queued += store.appservice.release(h.txnNumber);
        expected = h.txnNumber + 1;
      }
      store.appservice.setExpectedTxn(expected);
      log.warn({ missing, released: held.length }, "skipped appservice transactions did not come; queued the later ones without them");
    });
    if (queued > 0) this.options.onQueued();
    this.watchGap();
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
  for (const ev of txn.toDevice) items.push({ kind: "to_device", roomId: "\u0000crypto", payload: ev });
  if (txn.deviceLists.changed.length || txn.deviceLists.left.length) {
    items.push({ kind: "device_lists", roomId: "\u0000crypto", payload: txn.deviceLists });
  }
  if (Object.keys(txn.oneTimeKeyCounts).length || Object.keys(txn.unusedFallbackKeyTypes).length) {
    items.push({ kind: "key_counts", roomId: "\u0000crypto", payload: { otk: txn.oneTimeKeyCounts, fallback: txn.unusedFallbackKeyTypes } });
  }
  return items;
}
