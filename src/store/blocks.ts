// Contacts a Matrix user blocked through the bridge: what they send to that user is dropped.
import type { SqlDatabase } from "../sql/sql.js";

export class BlockStore {
  constructor(private readonly db: SqlDatabase) {}

  async block(matrixUser: string, remoteUri: string, now = Date.now()): Promise<void> {
    await this.db.run("INSERT INTO blocked_contacts (matrix_user, remote_uri, blocked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [matrixUser, remoteUri, now]);
  }

  async unblock(matrixUser: string, remoteUri: string): Promise<void> {
    await this.db.run("DELETE FROM blocked_contacts WHERE matrix_user = ? AND remote_uri = ?", [matrixUser, remoteUri]);
  }

  async isBlocked(matrixUser: string, remoteUri: string): Promise<boolean> {
    return (await this.db.get("SELECT 1 AS one FROM blocked_contacts WHERE matrix_user = ? AND remote_uri = ?", [matrixUser, remoteUri])) !== undefined;
  }

  async forUser(matrixUser: string): Promise<string[]> {
    return (await this.db.all<{ remote_uri: string }>("SELECT remote_uri FROM blocked_contacts WHERE matrix_user = ? ORDER BY blocked_at", [matrixUser])).map((r) => r.remote_uri);
  }
}
