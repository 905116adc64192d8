// One live WebSocket per provider (a newer connection replaces the older one). Streams the provider's durable queue
// in order, and its durable notices (PrekeysLow, DevicesChanged): those waiting when it connects, then each new one.
import type { Logger } from "pino";
import type { NoticeKind, PendingNotice, ProviderNotices } from "./provider-notices.js";
import type { ProviderQueue } from "./provider-queue.js";
import { decodeEnvelope, encodeServerFrame, type ServerFrameInit } from "./wire.js";

/** The slice of a WebSocket the hub needs; keeps the hub testable and transport-agnostic. */
export interface ProviderLink {
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
  /** A WebSocket ping; the hub's pong() must be called with the data of the answer. Without it, notices stay
   * pending and go again on the next connection. */
  ping?(data: Buffer): void;
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
  /** Highest notice id sent on this connection. */
  noticesSent: number;
  /** Ping token -> highest notice id sent before that ping. */
  confirming: Map<number, number>;
  nextToken: number;
}

const NOTICE_PING = /^notices:(\d+)$/;

export class ProviderHub {
  private readonly connections = new Map<string, Connection>();

  constructor(
    private readonly queue: ProviderQueue,
    private readonly notices: ProviderNotices,
    private readonly log: Logger,
  ) {}

  connect(providerId: string, link: ProviderLink): void {
    const old = this.connections.get(providerId);
    if (old) {
      this.log.info({ provider: providerId }, "newer provider connection replaces the older one");
      old.link.close(CLOSE_REPLACED, "replaced by a newer connection");
    }
    // Every connection starts from the head of the queue: whatever was sent but not acknowledged goes again.
    const conn: Connection = { link, lastSeq: 0, pumping: false, again: false, noticesSent: 0, confirming: new Map(), nextToken: 1 };
    this.connections.set(providerId, conn);
    // Notices the provider has not read (it was offline, or the last connection died first) go before the queue.
    try {
      this.sendNotices(conn, this.notices.pending(providerId));
    } catch (err) {
      this.log.error({ err, provider: providerId }, "sending the provider's pending notices failed; they go on the next connection");
    }
    this.wake(providerId);
  }

  disconnect(providerId: string, link: ProviderLink): void {
    if (this.connections.get(providerId)?.link === link) this.connections.delete(providerId);
  }

  isConnected(providerId: string): boolean {
    return this.connections.has(providerId);
  }

  /**
   * Stores a notice about `user` (replacing the previous one of its kind) and sends it now if the provider is
   * connected; otherwise it goes when the provider connects. Returns whether it was sent now.
   */
  notify(providerId: string, kind: NoticeKind, user: string, frame: ServerFrameInit): boolean {
    const bytes = encodeServerFrame(frame);
    const id = this.notices.record(providerId, kind, user, bytes);
    const conn = this.connections.get(providerId);
    if (!conn) return false;
    this.sendNotices(conn, [{ id, frame: bytes }]);
    return true;
  }

  /** The provider's WebSocket answered a ping: the notices sent before it have been read. */
  pong(providerId: string, link: ProviderLink, data: Buffer): void {
    const conn = this.connections.get(providerId);
    if (!conn || conn.link !== link) return;
    const token = Number(NOTICE_PING.exec(data.toString("latin1"))?.[1]);
    const upTo = conn.confirming.get(token);
    if (upTo === undefined) return;
    for (const t of conn.confirming.keys()) if (t <= token) conn.confirming.delete(t);
    try {
      this.notices.readUpTo(providerId, upTo);
    } catch (err) {
      this.log.warn({ err, provider: providerId }, "could not clear read notices; they are sent again on the next connection");
    }
  }

  private sendNotices(conn: Connection, pending: readonly PendingNotice[]): void {
    if (pending.length === 0) return;
    for (const n of pending) {
      conn.link.send(n.frame);
      conn.noticesSent = Math.max(conn.noticesSent, n.id);
    }
    if (!conn.link.ping) return;
    const token = conn.nextToken++;
    conn.confirming.set(token, conn.noticesSent);
    conn.link.ping(Buffer.from(`notices:${token}`, "latin1"));
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
