// Pushes room events to an appservice the way Synapse does: one transaction in flight at a time, whatever queued up
// meanwhile (up to 100 events) goes into the next one, and a transaction that was not answered 200 is sent again
// with the same ID.
import { randomBytes } from "node:crypto";
import type { ClientEvent } from "../src/matrix/events.js";

/** Synapse's per-transaction cap. */
const MAX_EVENTS = 100;
const RETRY_MS = 250;

export class TransactionPusher {
  private readonly queue: ClientEvent[] = [];
  private readonly idPrefix = randomBytes(6).toString("hex");
  private txnCounter = 0;
  private sending: Promise<void> | undefined;
  private closed = false;
  /** Transactions the appservice refused with a 4xx: it would refuse them forever, so they are dropped. */
  readonly refused: string[] = [];
  transactions = 0;

  constructor(
    private readonly appserviceUrl: string,
    private readonly hsToken: string,
  ) {}

  push(event: ClientEvent): void {
    if (this.closed) return;
    this.queue.push(event);
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  /** Resolves when everything pushed so far has been accepted (or refused). */
  async idle(): Promise<void> {
    while (this.sending) await this.sending;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      const events = this.queue.splice(0, MAX_EVENTS);
      const txnId = `${this.idPrefix}-${++this.txnCounter}`;
      await this.deliver(txnId, events);
    }
  }

  private async deliver(txnId: string, events: ClientEvent[]): Promise<void> {
    const body = JSON.stringify({ events, ephemeral: [] });
    while (!this.closed) {
      let status: number;
      let detail = "";
      try {
        const res = await fetch(`${this.appserviceUrl}/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${this.hsToken}`, "content-type": "application/json" },
          body,
        });
        status = res.status;
        detail = await res.text();
      } catch {
        status = 0; // not reachable (yet): the bridge may be starting
      }
      if (status === 200) {
        this.transactions++;
        return;
      }
      if (status >= 400 && status < 500) {
        this.refused.push(`transaction ${txnId} (${events.length} events) refused with ${status}: ${detail.slice(0, 300)}`);
        return;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
