// Flood limits per sender, whoever the sender is (a provider's user or a simulated one): messages per minute, and new
// chats per hour. The gatekeeper sees only envelopes, so every Send counts as a message (receipts and typing too).
//
// Messages per minute are counted in memory: a restart forgets at most one minute. New chats are counted from the
// chat_pairs table, so a restart forgets nothing there. A chat is the unordered pair of users; it is new when the
// pair has been silent for CHAT_IDLE_MS (or never spoke), and counts against whoever writes first.
import { SlidingWindow } from "../util/sliding-window.js";
import type { Db } from "./db.js";

export interface SenderLimitConfig {
  /** 0: no limit. */
  messagesPerMinute: number;
  /** 0: no limit. */
  newChatsPerHour: number;
}

export const DEFAULT_SENDER_LIMITS: SenderLimitConfig = { messagesPerMinute: 300, newChatsPerHour: 50 };

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** A pair silent this long is forgotten; writing again starts a new chat. */
export const CHAT_IDLE_MS = 30 * 24 * HOUR_MS;
/** last_at is refreshed at most this often per pair, so that a busy chat does not write on every message. */
const TOUCH_EVERY_MS = HOUR_MS;

export type SenderVerdict = { ok: true } | { ok: false; limit: "messages_per_minute" | "new_chats_per_hour"; retryAfterMs: number };

export class SenderLimits {
  private readonly minute = new SlidingWindow(MINUTE_MS);
  private lastPrune = 0;

  constructor(
    private readonly db: Db,
    private readonly config: SenderLimitConfig,
    private readonly now: () => number = Date.now,
  ) {
    for (const [k, v] of Object.entries(config)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`sender limit ${k} must be a non-negative integer, got ${String(v)}`);
    }
  }

  /** Whether `sender` may send one more message to `recipient` now. Takes nothing: call record() once accepted. */
  check(sender: string, recipient: string): SenderVerdict {
    const now = this.now();
    const limit = this.config.messagesPerMinute;
    if (limit > 0) {
      const retryAfterMs = this.minute.retryAfterMs(sender, limit, now);
      if (retryAfterMs > 0) return { ok: false, limit: "messages_per_minute", retryAfterMs };
    }
    const chats = this.config.newChatsPerHour;
    if (chats > 0 && this.isNewChat(sender, recipient, now)) {
      const rows = this.db
        .prepare("SELECT first_at FROM chat_pairs WHERE initiator = ? AND first_at > ? ORDER BY first_at DESC LIMIT ?")
        .all(sender, now - HOUR_MS, chats) as { first_at: number }[];
      if (rows.length >= chats) return { ok: false, limit: "new_chats_per_hour", retryAfterMs: Math.max(1, rows[rows.length - 1]!.first_at + HOUR_MS - now) };
    }
    return { ok: true };
  }

  /** Counts an accepted message. */
  record(sender: string, recipient: string): void {
    const now = this.now();
    if (this.config.messagesPerMinute > 0) this.minute.add(sender, now);
    const [a, b] = sender < recipient ? [sender, recipient] : [recipient, sender];
    const row = this.db.prepare("SELECT last_at FROM chat_pairs WHERE a = ? AND b = ?").get(a, b) as { last_at: number } | undefined;
    if (!row || row.last_at < now - CHAT_IDLE_MS) {
      this.db
        .prepare("INSERT OR REPLACE INTO chat_pairs (a, b, initiator, first_at, last_at) VALUES (?, ?, ?, ?, ?)")
        .run(a, b, sender, now, now);
    } else if (row.last_at < now - TOUCH_EVERY_MS) {
      this.db.prepare("UPDATE chat_pairs SET last_at = ? WHERE a = ? AND b = ?").run(now, a, b);
    }
    this.prune(now);
  }

  private isNewChat(sender: string, recipient: string, now: number): boolean {
    const [a, b] = sender < recipient ? [sender, recipient] : [recipient, sender];
    const row = this.db.prepare("SELECT last_at FROM chat_pairs WHERE a = ? AND b = ?").get(a, b) as { last_at: number } | undefined;
    return !row || row.last_at < now - CHAT_IDLE_MS;
  }

  /** Forgets idle pairs, at most once a minute. */
  private prune(now: number): void {
    if (now - this.lastPrune < MINUTE_MS) return;
    this.lastPrune = now;
    this.db.prepare("DELETE FROM chat_pairs WHERE last_at < ?").run(now - CHAT_IDLE_MS);
  }
}
