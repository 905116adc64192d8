// Pushes to an appservice what Synapse pushes, the way Synapse does: one transaction in flight at a time; whatever
// queued up meanwhile (up to 100 room events and 100 to-device messages, plus device-list changes) goes into the
// next one; a transaction that was not answered 200 is sent again with the same ID.
import { randomBytes } from "node:crypto";
import type { ClientEvent, ToDeviceEvent } from "../src/matrix/events.js";

/** Synapse's per-transaction caps. */
const MAX_EVENTS = 100;
const MAX_TO_DEVICE = 100;
const RETRY_MS = 250;

export class TransactionPusher {
  private readonly events: ClientEvent[] = [];
  private readonly toDevice: ToDeviceEvent[] = [];
  private readonly changedUsers = new Set<string>();
  private readonly idPrefix = randomBytes(6).toString("hex");
  private txnCounter = 0;
  private sending: Promise<void> | undefined;
  private closed = false;
  /** Transactions the appservice refused with a 4xx: it would refuse them forever, so they are dropped. */
  readonly refused: string[] = [];

  constructor(
    private readonly appserviceUrl: string,
    private readonly hsToken: string,
  ) {}

  push(event: ClientEvent): void {
    this.events.push(event);
    this.wake();
  }

  pushToDevice(event: ToDeviceEvent): void {
    this.toDevice.push(event);
    this.wake();
  }

  deviceListChanged(userId: string): void {
    this.changedUsers.add(userId);
    this.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.sending;
  }

  private wake(): void {
    if (this.closed) return;
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  private async drain(): Promise<void> {
    while (!this.closed && (this.events.length > 0 || this.toDevice.length > 0 || this.changedUsers.size > 0)) {
      const body: Record<string, unknown> = { events: this.events.splice(0, MAX_EVENTS) };
      // Synapse still sends these under their unstable (MSC2409, MSC3202) names.
      if (this.toDevice.length > 0) body["de.sorunome.msc2409.to_device"] = this.toDevice.splice(0, MAX_TO_DEVICE);
      if (this.changedUsers.size > 0) {
        body["org.matrix.msc3202.device_lists"] = { changed: [...this.changedUsers], left: [] };
        this.changedUsers.clear();
      }
      await this.deliver(`${this.idPrefix}-${++this.txnCounter}`, body);
    }
  }

  private async deliver(txnId: string, body: Record<string, unknown>): Promise<void> {
    const json = JSON.stringify(body);
    while (!this.closed) {
      let status: number;
      let detail = "";
      try {
        const res = await fetch(`${this.appserviceUrl}/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, {
          method: "PUT",
          headers: { authorization: `Bearer ${this.hsToken}`, "content-type": "application/json" },
          body: json,
        });
        status = res.status;
        detail = await res.text();
      } catch {
        status = 0; // not reachable (yet): the bridge may be starting
      }
      if (status === 200) return;
      if (status >= 400 && status < 500) {
        this.refused.push(`transaction ${txnId} refused with ${status}: ${detail.slice(0, 300)}`);
        return;
      }
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
