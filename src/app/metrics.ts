// Prometheus metrics (prom-client): one object the runtime tells what happened, at the few places where it happens
// (the queue workers, the appservice intake, the gatekeeper connection, the crypto engine), plus gauges read from
// the store and the crypto engine when scraped. Names follow Prometheus conventions: `_total` counters, base units
// (`_seconds`, `_bytes`), one `bridge_` prefix.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ConnectionState } from "../interop/connection.js";
import type { CryptoObserver, CryptoOperation } from "../matrix/crypto/observer.js";
import type { AppserviceTransaction } from "../matrix/transaction.js";
import { QUEUE_NAMES, type StoreStats } from "../store/stats.js";

export type Direction = "matrix_to_remote" | "remote_to_matrix";

const CONNECTION_STATES: readonly ConnectionState[] = ["idle", "connecting", "connected", "waiting", "replaced", "stopped"];

/** What is read at scrape time. */
export interface MetricsSources {
  readonly stats: StoreStats;
  openCryptoMachines(): number;
}

export class BridgeMetrics implements CryptoObserver {
  readonly registry = new Registry();
  readonly #messages: Counter<"direction" | "kind">;
  readonly #failures: Counter<"direction" | "reason">;
  readonly #connectionState: Gauge<"state">;
  readonly #reconnects: Counter;
  readonly #transactionSeconds: Histogram;
  readonly #transactionItems: Counter<"kind">;
  readonly #cryptoSeconds: Histogram<"operation" | "outcome">;
  readonly #cryptoStoreOpenSeconds: Histogram;
  #sources: MetricsSources | undefined;
  #wasConnected = false;

  constructor() {
    const registers = [this.registry];
    this.#messages = new Counter({
      name: "bridge_messages_total",
      help: "Messages handed on to the other side: accepted by the gatekeeper (matrix_to_remote) or posted to Matrix (remote_to_matrix), by kind",
      labelNames: ["direction", "kind"],
      registers,
    });
    this.#failures = new Counter({
      name: "bridge_message_failures_total",
      help: "Messages that could not be bridged (the sender was told), by direction and reason",
      labelNames: ["direction", "reason"],
      registers,
    });
    const self = this;
    new Gauge({
      name: "bridge_queue_depth",
      help: "Items waiting in each durable queue (matrix_inbound, outbox, inbox)",
      labelNames: ["queue"],
      registers,
      async collect() {
        if (!self.#sources) return;
        for (const queue of QUEUE_NAMES) this.set({ queue }, (await self.#sources.stats.queue(queue)).depth);
      },
    });
    new Gauge({
      name: "bridge_queue_oldest_item_age_seconds",
      help: "How long the oldest item of each durable queue has waited (0 when empty)",
      labelNames: ["queue"],
      registers,
      async collect() {
        if (!self.#sources) return;
        for (const queue of QUEUE_NAMES) this.set({ queue }, (await self.#sources.stats.queue(queue)).oldestAgeSeconds);
      },
    });
    this.#connectionState = new Gauge({
      name: "bridge_gatekeeper_connection_state",
      help: "The gatekeeper connection's state: 1 for the current one",
      labelNames: ["state"],
      registers,
    });
    this.gatekeeperState("idle");
    this.#reconnects = new Counter({
      name: "bridge_gatekeeper_reconnects_total",
      help: "Connections to the gatekeeper made after the first one (each follows a lost or failed one)",
      registers,
    });
    this.#transactionSeconds = new Histogram({
      name: "bridge_appservice_transaction_duration_seconds",
      help: "Time from receiving a homeserver transaction to having it durably queued (the homeserver waits this long for our answer)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#transactionItems = new Counter({
      name: "bridge_appservice_items_total",
      help: "Items received in homeserver transactions, by kind",
      labelNames: ["kind"],
      registers,
    });
    this.#cryptoSeconds = new Histogram({
      name: "bridge_crypto_operation_duration_seconds",
      help: "Matrix E2EE operations (Megolm encrypt with key sharing, Megolm decrypt, Olm to-device) by outcome, with time spent",
      labelNames: ["operation", "outcome"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#cryptoStoreOpenSeconds = new Histogram({
      name: "bridge_crypto_store_open_duration_seconds",
      help: "Time to load a device's OlmMachine from its crypto store",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    new Gauge({
      name: "bridge_crypto_machines_open",
      help: "OlmMachines open now (one per active bridge device; idle ones are closed beyond the pool's limit)",
      registers,
      collect() {
        if (self.#sources) this.set(self.#sources.openCryptoMachines());
      },
    });
    new Gauge({
      name: "bridge_portals",
      help: "Portal rooms (one per Matrix user and contact)",
      registers,
      async collect() {
        if (self.#sources) this.set(await self.#sources.stats.portals());
      },
    });
    new Gauge({
      name: "bridge_puppets",
      help: "Puppet users (one per contact the bridge has seen)",
      registers,
      async collect() {
        if (self.#sources) this.set(await self.#sources.stats.puppets());
      },
    });
  }

  /** Process metrics (memory, CPU, event loop lag, handles) with prom-client's standard names; only when served. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Where scrape-time gauges read from; until set (start-up), they are left out. */
  readFrom(sources: MetricsSources): void {
    this.#sources = sources;
  }

  bridged(direction: Direction, kind: string): void {
    this.#messages.inc({ direction, kind });
  }

  failed(direction: Direction, reason: string): void {
    this.#failures.inc({ direction, reason });
  }

  gatekeeperState(state: ConnectionState): void {
    if (state === "connected") {
      if (this.#wasConnected) this.#reconnects.inc();
      this.#wasConnected = true;
    }
    for (const s of CONNECTION_STATES) this.#connectionState.set({ state: s }, s === state ? 1 : 0);
  }

  /** A transaction was queued (or failed to be) after `seconds`. */
  transaction(txn: AppserviceTransaction, seconds: number): void {
    this.#transactionSeconds.observe(seconds);
    if (txn.events.length) this.#transactionItems.inc({ kind: "event" }, txn.events.length);
    if (txn.ephemeral.length) this.#transactionItems.inc({ kind: "ephemeral" }, txn.ephemeral.length);
    if (txn.toDevice.length) this.#transactionItems.inc({ kind: "to_device" }, txn.toDevice.length);
  }

  operation(operation: CryptoOperation, outcome: string, seconds: number): void {
    this.#cryptoSeconds.observe({ operation, outcome }, seconds);
  }

  storeOpened(seconds: number): void {
    this.#cryptoStoreOpenSeconds.observe(seconds);
  }

  /** The exposition text. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
