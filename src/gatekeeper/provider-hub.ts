// One live WebSocket per provider (a newer connection replaces the older one). Streams the provider's durable queue
// in order and pushes notices (PrekeysLow, DevicesChanged) to whoever is connected.
import type { Logger } from "pino";
import type { ProviderQueue } from "./provider-queue.js";
import { decodeEnvelope, encodeServerFrame, type ServerFrameInit } from "./wire.js";

/** The slice of a WebSocket the hub needs; keeps the hub testable and transport-agnostic. */
export interface ProviderLink {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

export const CLOSE_REPLACED = 4000;
/** The token that opened the connection expired; reconnect with a fresh one. */
export const CLOSE_TOKEN_EXPIRED = 4002;
const PUMP_BATCH = 200;
// Beyond this many unsent bytes, wait for the socket to drain instead of buffering the whole queue in memory.
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

interface Connection {
  link: ProviderLink;
  lastSeq: number; // highest queue seq sent on this connection
  pumping: boolean;
  again: boolean;
}

export class ProviderHub {
  private readonly connections = new Map<string, Connection>();

  constructor(
    private readonly queue: ProviderQueue,
    private readonly log: Logger,
  ) {}

  connect(providerId: string, link: ProviderLink): void {
    const old = this.connections.get(providerId);
    if (old) {
      this.log.info({ provider: providerId }, "newer provider connection replaces the older one");
      old.link.close(CLOSE_REPLACED, "replaced by a newer connection");
    }
    // Every connection starts from the head of the queue: whatever was sent but not acknowledged goes again.
    this.connections.set(providerId, { link, lastSeq: 0, pumping: false, again: false });
    this.wake(providerId);
  }

  disconnect(providerId: string, link: ProviderLink): void {
    if (this.connections.get(providerId)?.link === link) this.connections.delete(providerId);
  }

  isConnected(providerId: string): boolean {
    return this.connections.has(providerId);
  }

  /** Sends a notice now if the provider is connected; notices are not queued (the state they describe can be re-read). */
  push(providerId: string, frame: ServerFrameInit): boolean {
    const conn = this.connections.get(providerId);
    if (!conn) return false;
    conn.link.send(encodeServerFrame(frame));
    return true;
  }

  /** Something was queued for the provider: send it if connected. */
  wake(providerId: string): void {
    const conn = this.connections.get(providerId);
    if (!conn) return;
    if (conn.pumping) {
      conn.again = true;
      return;
    }
    conn.pumping = true;
    setImmediate(() => this.pump(providerId, conn));
  }

  closeAll(code: number, reason: string): void {
    for (const conn of this.connections.values()) conn.link.close(code, reason);
    this.connections.clear();
  }

  private pump(providerId: string, conn: Connection): void {
    if (this.connections.get(providerId) !== conn) return;
    if (conn.link.bufferedAmount > HIGH_WATER_BYTES) {
      setTimeout(() => this.pump(providerId, conn), 20);
      return;
    }
    conn.again = false;
    let rows;
    try {
      rows = this.queue.pendingAfter(providerId, conn.lastSeq, PUMP_BATCH);
      for (const row of rows) {
        conn.link.send(encodeServerFrame({ kind: { case: "deliver", value: { envelope: decodeEnvelope(row.envelope) } } }));
        conn.lastSeq = row.seq;
      }
    } catch (err) {
      this.log.error({ err, provider: providerId }, "delivering the provider queue failed; retrying");
      setTimeout(() => this.pump(providerId, conn), 1000);
      return;
    }
    if (rows.length === PUMP_BATCH || conn.again) {
      setImmediate(() => this.pump(providerId, conn));
      return;
    }
    conn.pumping = false;
  }
}
