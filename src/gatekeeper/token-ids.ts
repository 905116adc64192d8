// Single use of a token id (jti): where the protocol says a token may be used once (the WebSocket upgrade), the
// first use is recorded until the token could no longer be accepted anyway, and every later use is refused.
import type { Db } from "./db.js";

/** Rows are swept at most this often; an expired row left a little longer only costs a few bytes. */
const SWEEP_INTERVAL_MS = 60_000;

export class UsedTokenIds {
  private lastSweep = 0;
  private readonly insert;
  private readonly sweep;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.insert = db.prepare("INSERT OR IGNORE INTO used_token_ids (issuer, jti, expires_at) VALUES (?, ?, ?)");
    this.sweep = db.prepare("DELETE FROM used_token_ids WHERE expires_at < ?");
  }

  /** Records the id; false when this issuer already used it. `acceptableUntil`: seconds, after which no check would
   * pass the token any more (exp plus the clock tolerance). */
  claim(issuer: string, jti: string, acceptableUntil: number): boolean {
    const nowMs = this.now();
    if (nowMs - this.lastSweep > SWEEP_INTERVAL_MS) {
      this.lastSweep = nowMs;
      this.sweep.run(Math.floor(nowMs / 1000));
    }
    return this.insert.run(issuer, jti, acceptableUntil).changes === 1;
  }
}
