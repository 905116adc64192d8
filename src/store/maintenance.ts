// Housekeeping the runtime runs on a timer: forget dedup metadata once no redelivery can need it, and keep deleted
// rows (delivered message contents, pruned metadata) from lingering in the WAL.
//
// secure_delete zeroes what a DELETE frees, but only in the new page image; the WAL still holds the old images until
// it is checkpointed and truncated. So after anything was written, the next tick truncates the WAL. When nothing was
// written since the last tick a tick costs one SELECT.
import { truncateWal } from "./database.js";
import { SqliteEngine } from "../sql/engines/sqlite.js";
import { SEEN_ENVELOPE_RETENTION_MS } from "./inbox.js";
import type { BridgeStore } from "./store.js";

/** Synapse retries a transaction until it is accepted, backing off to at most hours; items older than this are dead. */
export const APPSERVICE_SEEN_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface MaintenanceOptions {
  /** Default 1 hour: the retention windows are days, pruning need not be prompt. */
  pruneEveryMs?: number;
  seenRetentionMs?: number;
  txnRetentionMs?: number;
}

export interface TickResult {
  /** Rows deleted by pruning in this tick (undefined: no pruning was due). */
  pruned?: { seenEnvelopes: number; appserviceItems: number };
  /** The WAL was truncated in this tick. */
  walTruncated: boolean;
}

export class StoreMaintenance {
  private readonly pruneEveryMs: number;
  private readonly seenRetentionMs: number;
  private readonly txnRetentionMs: number;
  private lastPrune = Number.NEGATIVE_INFINITY;
  /** total_changes() when the WAL was last truncated; another value means something was written since. */
  private changesAtTruncate = -1;

  constructor(
    private readonly store: BridgeStore,
    options: MaintenanceOptions = {},
  ) {
    this.pruneEveryMs = options.pruneEveryMs ?? 60 * 60 * 1000;
    this.seenRetentionMs = options.seenRetentionMs ?? SEEN_ENVELOPE_RETENTION_MS;
    this.txnRetentionMs = options.txnRetentionMs ?? APPSERVICE_SEEN_RETENTION_MS;
  }

  async tick(now = Date.now()): Promise<TickResult> {
    const result: TickResult = { walTruncated: false };
    if (now - this.lastPrune >= this.pruneEveryMs) {
      this.lastPrune = now;
      result.pruned = await this.store.transaction(async () => ({
        seenEnvelopes: await this.store.inbox.pruneSeen(now - this.seenRetentionMs),
        appserviceItems: await this.store.appservice.pruneSeen(now - this.txnRetentionMs),
      }));
    }
    // PostgreSQL keeps no WAL of ours to truncate (its own is the server admin's, with VACUUM for dead rows).
    const db = this.store.db;
    if (!(db instanceof SqliteEngine) || db.handle.memory) return result;
    const changes = (db.handle.prepare("SELECT total_changes() AS n").get() as { n: number }).n;
    if (changes !== this.changesAtTruncate && truncateWal(db.handle)) {
      this.changesAtTruncate = changes;
      result.walTruncated = true;
    }
    return result;
  }
}
