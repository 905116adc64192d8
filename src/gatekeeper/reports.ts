// Reports of remote users by provider users, and what the gatekeeper does with them: it keeps them for the operator
// (admin API) and suspends a simulated user once enough distinct users have reported it. Distinct reporters, so that
// one user reporting the same number again and again cannot get it suspended alone.
import { randomBytes } from "node:crypto";
import { ReportReason, reportReasonOf, type Report } from "../protocol/safety.js";
import { messageIdToString } from "../protocol/message-id.js";
import type { Db } from "./db.js";

export interface StoredReport {
  seq: number;
  id: string;
  providerId: string;
  reporter: string;
  reported: string;
  /** The ReportReason's name, e.g. SPAM. */
  reason: string;
  /** 32 uppercase hex digits each. */
  messageIds: string[];
  comment: string;
  createdAt: number;
}

interface ReportRow {
  seq: number;
  id: string;
  provider_id: string;
  reporter: string;
  reported: string;
  reason: string;
  message_ids: string;
  comment: string;
  created_at: number;
}

export class ReportStore {
  constructor(private readonly db: Db) {}

  /** Stores the report; answers its reference and how many distinct users have now reported `reported`. */
  add(providerId: string, report: Report, now = Date.now()): { id: string; reporters: number } {
    const id = `r-${randomBytes(12).toString("base64url")}`;
    return this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO reports (id, provider_id, reporter, reported, reason, message_ids, comment, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          providerId,
          report.reporter,
          report.reported,
          ReportReason[reportReasonOf(report)]!,
          JSON.stringify(report.messageIds.map(messageIdToString)),
          report.comment,
          now,
        );
      return { id, reporters: this.reporterCount(report.reported) };
    })();
  }

  reporterCount(reported: string): number {
    return (this.db.prepare("SELECT count(DISTINCT reporter) AS n FROM reports WHERE reported = ?").get(reported) as { n: number }).n;
  }

  /** Oldest first; all reports, or those about one user. */
  list(opts: { reported?: string; afterSeq?: number; limit?: number } = {}): StoredReport[] {
    const rows = (
      opts.reported === undefined
        ? this.db.prepare("SELECT * FROM reports WHERE seq > ? ORDER BY seq LIMIT ?").all(opts.afterSeq ?? 0, opts.limit ?? 1000)
        : this.db.prepare("SELECT * FROM reports WHERE reported = ? AND seq > ? ORDER BY seq LIMIT ?").all(opts.reported, opts.afterSeq ?? 0, opts.limit ?? 1000)
    ) as ReportRow[];
    return rows.map((r) => ({
      seq: r.seq,
      id: r.id,
      providerId: r.provider_id,
      reporter: r.reporter,
      reported: r.reported,
      reason: r.reason,
      messageIds: JSON.parse(r.message_ids) as string[],
      comment: r.comment,
      createdAt: r.created_at,
    }));
  }
}
