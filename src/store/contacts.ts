// The numbers each Matrix user reached out to or accepted: who gets through when they are reachable by contacts only.
import type { SqlDatabase } from "../sql/sql.js";

export type ContactOrigin = "wrote" | "accepted";

export class ContactStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Idempotent: the first reason and time are kept. */
  async add(matrixUser: string, contact: string, how: ContactOrigin, now = Date.now()): Promise<void> {
    await this.db.run("INSERT INTO user_contacts (matrix_user, contact, how, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [matrixUser, contact, how, now]);
  }

  async has(matrixUser: string, contact: string): Promise<boolean> {
    return (await this.db.get("SELECT 1 AS one FROM user_contacts WHERE matrix_user = ? AND contact = ?", [matrixUser, contact])) !== undefined;
  }
}
