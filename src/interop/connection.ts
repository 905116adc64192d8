// The provider WebSocket to the gatekeeper (`GET {url}/v1/ws`): connects with a fresh provider token, keeps the
// link alive with Ping frames, reconnects with exponential backoff and jitter, and reports its state. It moves
// frames and knows nothing of what they mean; the client above it does.
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import WebSocket from "ws";
import { isProtocolError } from "../protocol/errors.js";
import {
  type ClientFrameInit,
  decodeServerFrame,
  encodeClientFrame,
  type ServerFrame,
} from "../protocol/frames.js";
import { MAX_FRAME_BYTES } from "../protocol/limits.js";
import { Backoff, type BackoffOptions } from "../util/backoff.js";
import { InteropUnavailableError } from "./errors.js";
import type { ProviderTokens } from "./tokens.js";

/** The gatekeeper closes an older connection of the same provider with this code when a newer one arrives. */
export const CLOSE_REPLACED = 4000;
/** The gatekeeper ends a connection when the token that opened it expires; a new token opens the next one. */
export const CLOSE_TOKEN_EXPIRED = 4002;
/** A connection ended for its token sooner than this after opening is treated as a failure (backoff), not renewed
 * at once: a clock far off from the gatekeeper's would otherwise reconnect in a tight loop. */
const MIN_RENEWED_LIFETIME_MS = 5_000;

export type ConnectionState =
  /** Not started yet. */
  | "idle"
  | "connecting"
  | "connected"
  /** Lost or failed; waiting `nextRetryAt` before the next attempt. */
  | "waiting"
  /** Another connection of this provider replaced ours; not reconnecting (two bridges with one key?). */
  | "replaced"
  | "stopped";

export interface ConnectionStatus {
  state: ConnectionState;
  /** When the current state began (ms since epoch). */
  since: number;
  /** Failed attempts since the last good connection. */
  failures: number;
  lastError?: string;
  nextRetryAt?: number;
  /** Round trip of the last Ping, in ms. */
  rttMs?: number;
}

export interface ConnectionOptions {
  /** Gatekeeper base URL (http/https; the WebSocket uses ws/wss on the same host). */
  url: string;
  tokens: ProviderTokens;
  log: Logger;
  /** A Ping goes out this often while connected (default 30 s). */
  pingIntervalMs?: number;
  /** With no frame for pingIntervalMs + this (default 10 s), the link counts as dead and is replaced. */
  pongTimeoutMs?: number;
  /** Opening handshake limit (default 15 s). */
  handshakeTimeoutMs?: number;
  backoff?: BackoffOptions;
}

interface Events {
  frame: [ServerFrame];
  state: [ConnectionStatus];
}

interface PendingPing {
  sentAt: number;
  resolve: (rttMs: number) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class InteropConnection extends EventEmitter<Events> {
  private readonly wsUrl: string;
  private readonly backoff: Backoff;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly handshakeTimeoutMs: number;
  private socket: WebSocket | undefined;
  private current: ConnectionStatus = { state: "idle", since: Date.now(), failures: 0 };
  private retryTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  private nonce = 0n;
  private readonly pings = new Map<bigint, PendingPing>();

  constructor(private readonly options: ConnectionOptions) {
    super();
    const base = new URL(options.url);
    if (base.protocol !== "http:" && base.protocol !== "https:") {
      throw new Error(`gatekeeper URL must be http(s)://, got ${options.url}`);
    }
    base.protocol = base.protocol === "https:" ? "wss:" : "ws:";
    base.pathname = `${base.pathname.replace(/\/+$/, "")}/v1/ws`;
    this.wsUrl = base.toString();
    this.backoff = new Backoff(options.backoff);
    this.pingIntervalMs = options.pingIntervalMs ?? 30_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 10_000;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? 15_000;
  }

  get status(): ConnectionStatus {
    return { ...this.current };
  }

  get connected(): boolean {
    return this.current.state === "connected";
  }

  /** Starts connecting (and keeps reconnecting until stop()). */
  start(): void {
    if (this.current.state !== "idle" && this.current.state !== "stopped" && this.current.state !== "replaced") return;
    this.current.failures = 0;
    this.backoff.reset();
    void this.connect();
  }

  /** Closes the link and stops reconnecting. */
  async stop(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    this.detach(new InteropUnavailableError("connection stopped", false));
    this.setState({ state: "stopped" });
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const done = setTimeout(() => {
          socket.terminate();
          resolve();
        }, 2000);
        socket.once("close", () => {
          clearTimeout(done);
          resolve();
        });
        socket.close(1000, "provider shutting down");
      });
    }
  }

  /** Sends one frame; throws InteropUnavailableError when not connected. */
  send(frame: ClientFrameInit): void {
    const socket = this.socket;
    if (!socket || this.current.state !== "connected" || socket.readyState !== WebSocket.OPEN) {
      throw new InteropUnavailableError("not connected to the gatekeeper", false);
    }
    socket.send(encodeClientFrame(frame), { binary: true });
  }

  /** Round trip of one Ping, in ms. */
  ping(timeoutMs = this.pongTimeoutMs): Promise<number> {
    const nonce = ++this.nonce;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pings.delete(nonce);
        reject(new InteropUnavailableError(`no Pong within ${timeoutMs} ms`, false));
      }, timeoutMs);
      this.pings.set(nonce, { sentAt: performance.now(), resolve, reject, timer });
      try {
        this.send({ kind: { case: "ping", value: { nonce } } });
      } catch (err) {
        clearTimeout(timer);
        this.pings.delete(nonce);
        reject(err as Error);
      }
    });
  }

  /** Resolves once connected, or rejects after `timeoutMs` / when stopped or replaced. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onState = (status: ConnectionStatus) => {
        if (status.state === "connected") finish();
        else if (status.state === "stopped" || status.state === "replaced") {
          finish(new InteropUnavailableError(`connection ${status.state}`, false));
        }
      };
      const timer = setTimeout(() => {
        const why = this.current.lastError ? ` (last error: ${this.current.lastError})` : "";
        finish(new InteropUnavailableError(`not connected to the gatekeeper within ${timeoutMs} ms${why}`, false));
      }, timeoutMs);
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.off("state", onState);
        if (err) reject(err);
        else resolve();
      };
      this.on("state", onState);
    });
  }

  private setState(update: Partial<ConnectionStatus> & { state: ConnectionState }): void {
    const changed = update.state !== this.current.state;
    this.current = {
      ...this.current,
      ...update,
      since: changed ? Date.now() : this.current.since,
    };
    if (update.state !== "waiting") delete this.current.nextRetryAt;
    if (changed) this.emit("state", this.status);
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    this.setState({ state: "connecting" });
    let token: string;
    try {
      ({ token } = await this.options.tokens.connectionToken());
    } catch (err) {
      this.scheduleRetry(`cannot sign the provider token: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (this.current.state !== "connecting") return; // stopped meanwhile
    const socket = new WebSocket(this.wsUrl, {
      headers: { authorization: `Bearer ${token}` },
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: this.handshakeTimeoutMs,
      perMessageDeflate: false,
    });
    this.socket = socket;
    let failure: string | undefined;
    let openedAt = 0;
    socket.on("open", () => {
      if (this.socket !== socket) return;
      openedAt = Date.now();
      this.lastFrameAt = Date.now();
      this.setState({ state: "connected" });
      this.options.log.info({ url: this.wsUrl }, "connected to the gatekeeper");
      this.startKeepalive(socket);
      // The first Pong proves the gatekeeper accepts our frames; only then does the backoff start over.
      this.ping().then(
        () => {
          if (this.socket === socket) {
            this.backoff.reset();
            this.current.failures = 0;
          }
        },
        () => undefined,
      );
    });
    socket.on("message", (data, isBinary) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = Date.now();
      this.onData(data, isBinary);
    });
    socket.on("error", (err) => {
      failure = err.message;
    });
    socket.on("close", (code, reasonBuffer) => {
      if (this.socket !== socket) return;
      const reason = reasonBuffer.toString("utf8");
      const why = failure ?? `closed by the gatekeeper (${code}${reason ? ` ${reason}` : ""})`;
      this.detach(new InteropUnavailableError(`connection lost: ${why}`, true));
      if (code === CLOSE_REPLACED) {
        this.options.log.error(
          { code, reason },
          "the gatekeeper replaced this connection with a newer one of the same provider; not reconnecting (is a second bridge running with this provider key?)",
        );
        this.setState({ state: "replaced", lastError: why });
        return;
      }
      if (code === CLOSE_TOKEN_EXPIRED && Date.now() - openedAt >= MIN_RENEWED_LIFETIME_MS) {
        // Routine: unanswered Sends fail as "outcome unknown" and are sent again, unacknowledged envelopes come again.
        this.options.log.info("the gatekeeper ended the connection as its token expired; reconnecting with a fresh token");
        void this.connect();
        return;
      }
      this.scheduleRetry(why);
    });
  }

  private onData(data: WebSocket.RawData, isBinary: boolean): void {
    if (!isBinary) {
      this.options.log.warn("gatekeeper sent a text frame; frames are binary protobuf, ignoring it");
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(bytes);
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      // Nothing in an undecodable frame can be answered or acknowledged; a redelivery may come out right.
      this.options.log.warn({ reason: err.message }, "gatekeeper sent a malformed frame; ignoring it");
      return;
    }
    if (frame.kind.case === "pong") {
      const pending = this.pings.get(frame.kind.value.nonce);
      if (pending) {
        this.pings.delete(frame.kind.value.nonce);
        clearTimeout(pending.timer);
        const rttMs = performance.now() - pending.sentAt;
        this.current.rttMs = Math.round(rttMs * 100) / 100;
        pending.resolve(rttMs);
      }
      return;
    }
    this.emit("frame", frame);
  }

  private startKeepalive(socket: WebSocket): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = setInterval(() => {
      if (this.socket !== socket) return;
      const silentMs = Date.now() - this.lastFrameAt;
      if (silentMs > this.pingIntervalMs + this.pongTimeoutMs) {
        this.options.log.warn({ silentMs }, "gatekeeper connection went silent; reconnecting");
        // terminate() emits close, which schedules the reconnect.
        socket.terminate();
        return;
      }
      this.ping().catch(() => undefined);
    }, this.pingIntervalMs);
    this.keepaliveTimer.unref();
  }

  /** Forgets the current socket: timers, pending pings. */
  private detach(reason: Error): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) socket.removeAllListeners("message");
    for (const [nonce, pending] of this.pings) {
      clearTimeout(pending.timer);
      pending.reject(reason);
      this.pings.delete(nonce);
    }
  }

  private scheduleRetry(why: string): void {
    if (this.current.state === "stopped" || this.current.state === "replaced") return;
    const delay = this.backoff.next();
    const failures = this.current.failures + 1;
    this.options.log.warn({ reason: why, retryInMs: delay, failures }, "gatekeeper connection failed; retrying");
    this.setState({ state: "waiting", lastError: why, failures, nextRetryAt: Date.now() + delay });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
