// Blocks that a provider's user placed on remote (tel:) users through the interop API. The gatekeeper enforces them:
// a blocked sender's messages to that user are refused at the sender's side (BLOCKED) and never reach the provider.
import { MAX_BLOCKS_PER_USER } from "../protocol/limits.js";
import type { Db } from "./db.js";
import { HttpError } from "./http-error.js";

export class ProviderUserBlocks {
  constructor(private readonly db: Db) {}

  /** Sorted, as BlockList carries them. */
  list(userUri: string): string[] {
    return (this.db.prepare("SELECT blocked_uri FROM provider_user_blocks WHERE user_uri = ? ORDER BY blocked_uri").all(userUri) as { blocked_uri: string }[]).map(
      (r) => r.blocked_uri,
    );
  }

  /** Idempotent; returns whether the block is new. */
  block(userUri: string, blockedUri: string, now = Date.now()): boolean {
    return this.db.transaction(() => {
      if (this.isBlocked(userUri, blockedUri)) return false;
      const n = (this.db.prepare("SELECT count(*) AS n FROM provider_user_blocks WHERE user_uri = ?").get(userUri) as { n: number }).n;
      if (n >= MAX_BLOCKS_PER_USER) throw new HttpError(409, "CONFLICT", `at most ${MAX_BLOCKS_PER_USER} blocks per user`);
      this.db.prepare("INSERT INTO provider_user_blocks (user_uri, blocked_uri, created_at) VALUES (?, ?, ?)").run(userUri, blockedUri, now);
      return true;
    })();
  }

  /** Idempotent; returns whether a block was lifted. */
  unblock(userUri: string, blockedUri: string): boolean {
    return this.db.prepare("DELETE FROM provider_user_blocks WHERE user_uri = ? AND blocked_uri = ?").run(userUri, blockedUri).changes > 0;
  }

  isBlocked(userUri: string, senderUri: string): boolean {
    return this.db.prepare("SELECT 1 FROM provider_user_blocks WHERE user_uri = ? AND blocked_uri = ?").get(userUri, senderUri) !== undefined;
  }
}
