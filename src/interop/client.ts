// The bridge's client of a gatekeeper: one WebSocket per provider for envelopes in both directions, plus the HTTPS
// services. It encrypts and fans out messages, matches SendResults to Sends, hands delivered envelopes to a handler
// and acknowledges them only after the handler stored them, and keeps the provider's users' prekeys stocked.
//
// Durability split: this client keeps nothing on disk. `sendContent` is for callers that can afford to lose a
// message on a crash; the bridge's outbox uses the lower level instead: `encryptMessage` with a `persist` callback
// (envelopes written in the same transaction as the ratchet step), then `sendEnvelopes` from the outbox.
import { EventEmitter } from "node:events";
import type { KeyObject } from "node:crypto";
import type { Logger } from "pino";
import { create } from "@bufbuild/protobuf";
import {
  ErrorCode,
  type Envelope,
  type SendResult,
  SendResultSchema,
  type ServerFrame,
} from "../protocol/gen/interop_pb.js";
import { messageIdToString } from "../protocol/message-id.js";
import type { PreKeyCountResponse } from "../protocol/signal/bundle.js";
import type { SignalDeviceStore } from "../protocol/signal/device-store.js";
import { refillPreKeys, rotateSignedPreKey } from "../protocol/signal/prekeys.js";
import { Backoff, type BackoffOptions } from "../util/backoff.js";
import { sleep } from "../util/sleep.js";
import { type ConnectionOptions, type ConnectionStatus, InteropConnection } from "./connection.js";
import { DeviceHints } from "./device-hints.js";
import { EnvelopeRefusedError, GatekeeperHttpError, InteropSendError, InteropUnavailableError } from "./errors.js";
import { encryptForDevices, type FanoutRequest, type FanoutResult } from "./fanout.js";
import { type DirectoryEntry, GatekeeperApi, type ReportInput } from "./http-api.js";
import { ProviderTokens } from "./tokens.js";

export interface InteropClientOptions {
  /** Gatekeeper base URL, e.g. https://gatekeeper.example. */
  url: string;
  providerId: string;
  /** The enlisted Ed25519 provider key (PKCS#8 PEM text or a KeyObject). */
  providerKey: KeyObject | string;
  log: Logger;
  /** Finds the Signal store of one of our users' devices, so PrekeysLow notices can be answered with a refill. */
  localDevice?: (uri: string) => Promise<SignalDeviceStore | undefined> | undefined;
  /** One-time prekeys (EC and Kyber each) to keep on the gatekeeper per device (default 100). */
  prekeyTarget?: number;
  /** How long a send waits for a connection and its SendResult, in total (default 30 s). */
  sendTimeoutMs?: number;
  /** STALE_DEVICES answers tolerated per message before giving up (default 3). */
  maxDeviceListRetries?: number;
  /** Delays between attempts of a failing envelope handler (default 1 s doubling to 60 s). */
  handlerRetry?: BackoffOptions;
  /** Lifetime of the tokens we mint (default 300 s). The WebSocket is renewed each time its token expires. */
  tokenLifetimeSeconds?: number;
  connection?: Pick<ConnectionOptions, "pingIntervalMs" | "pongTimeoutMs" | "handshakeTimeoutMs" | "backoff">;
  fetch?: typeof fetch;
}

export interface InteropStatus extends ConnectionStatus {
  /** Sends waiting for their SendResult. */
  pendingSends: number;
  /** Delivered envelopes not yet handled and acknowledged. */
  pendingEnvelopes: number;
}

export interface SendReport {
  messageId: string;
  devices: number[];
  /** Recipient devices whose identity key changed: tell the user the security code changed. */
  identityChangedDevices: number[];
}

/**
 * Handles one delivered envelope: decrypt it (decryptEnvelope) and store the result durably before returning. The
 * client acknowledges the envelope once this resolves; when it throws, the client tries again later and the
 * gatekeeper redelivers after a reconnect. Envelopes arrive at least once: the handler deduplicates by
 * (message id, sender, sender device, recipient device), e.g. with the store's seen_envelopes table, and returns
 * normally for a duplicate so that it is acknowledged. Throwing EnvelopeRefusedError acknowledges it as refused.
 */
export type EnvelopeHandler = (envelope: Envelope) => Promise<void>;

interface ClientEvents {
  state: [InteropStatus];
  devicesChanged: [{ user: string; devices: number[] }];
  prekeysLow: [{ user: string; remaining: number }];
  /** A frame-level Error from the gatekeeper that belongs to no Send. */
  serverError: [{ code: string; detail: string }];
}

interface PendingSend {
  resolve: (result: SendResult) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

interface Inbound {
  envelope: Envelope;
  /** Connection generation it arrived on: after a reconnect the gatekeeper sends everything unacknowledged again. */
  generation: number;
  attempts: number;
}

export class InteropClient extends EventEmitter<ClientEvents> {
  readonly tokens: ProviderTokens;
  readonly api: GatekeeperApi;
  readonly connection: InteropConnection;
  private readonly log: Logger;
  private readonly hints = new DeviceHints();
  private readonly pendingSends = new Map<bigint, PendingSend>();
  private seq = 0n;
  private handler: EnvelopeHandler | undefined;
  private readonly inbound: Inbound[] = [];
  /** Chats (sender, recipient) whose head envelope is waiting for a retry: their later envelopes, in order. */
  private readonly blocked = new Map<string, Inbound[]>();
  private readonly retrying = new Set<NodeJS.Timeout>();
  private draining = false;
  private generation = 0;
  private readonly refilling = new Set<string>();
  private readonly sendTimeoutMs: number;
  private readonly maxDeviceListRetries: number;
  private readonly prekeyTarget: number;

  constructor(private readonly options: InteropClientOptions) {
    super();
    this.log = options.log;
    this.tokens = new ProviderTokens(options.providerId, options.providerKey, {
      gatekeeperUrl: options.url,
      ...(options.tokenLifetimeSeconds === undefined ? {} : { lifetimeSeconds: options.tokenLifetimeSeconds }),
    });
    this.api = new GatekeeperApi({
      baseUrl: options.url,
      tokens: this.tokens,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    this.connection = new InteropConnection({ url: options.url, tokens: this.tokens, log: options.log, ...options.connection });
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.maxDeviceListRetries = options.maxDeviceListRetries ?? 3;
    this.prekeyTarget = options.prekeyTarget ?? 100;
    this.connection.on("frame", (frame) => this.onFrame(frame));
    this.connection.on("state", (status) => this.onConnectionState(status));
  }

  start(): void {
    this.connection.start();
  }

  async stop(): Promise<void> {
    for (const timer of this.retrying) clearTimeout(timer);
    this.retrying.clear();
    this.inbound.length = 0;
    await this.connection.stop();
  }

  status(): InteropStatus {
    return { ...this.connection.status, pendingSends: this.pendingSends.size, pendingEnvelopes: this.inbound.length };
  }

  /** Round trip to the gatekeeper over the WebSocket, in ms. */
  ping(): Promise<number> {
    return this.connection.ping();
  }

  /** A remote user's devices and profile (UNKNOWN_USER / NOT_OPTED_IN come as GatekeeperHttpError). */
  lookup(uri: string): Promise<DirectoryEntry> {
    return this.api.directory(uri);
  }

  // ---- safety (interop-protocol §7.5): the gatekeeper keeps and enforces a user's blocks ------------------------------

  /** Whom `userUri` has blocked (tel: URIs, sorted). */
  blocks(userUri: string): Promise<string[]> {
    return this.api.blocks(userUri);
  }

  /** From now on the gatekeeper refuses `remote`'s messages to the user (the sender is told BLOCKED). */
  block(userUri: string, remote: string): Promise<string[]> {
    return this.api.block(userUri, remote);
  }

  unblock(userUri: string, remote: string): Promise<string[]> {
    return this.api.unblock(userUri, remote);
  }

  /** Reports a contact with the IDs of the messages that show why; answers the gatekeeper's reference. */
  report(input: ReportInput): Promise<string> {
    return this.api.report(input);
  }

  // ---- receiving ---------------------------------------------------------------------------------------------------

  /** Sets the handler for delivered envelopes (see EnvelopeHandler); envelopes that arrived before wait for it. */
  onEnvelope(handler: EnvelopeHandler): void {
    this.handler = handler;
    void this.drainInbound();
  }

  private onFrame(frame: ServerFrame): void {
    const kind = frame.kind;
    switch (kind.case) {
      case "sendResult": {
        const pending = this.pendingSends.get(kind.value.seq);
        if (!pending) {
          this.log.debug({ seq: String(kind.value.seq) }, "SendResult for no pending Send (answered after a timeout?)");
          return;
        }
        this.pendingSends.delete(kind.value.seq);
        clearTimeout(pending.timer);
        pending.resolve(kind.value);
        return;
      }
      case "deliver":
        this.inbound.push({ envelope: kind.value.envelope!, generation: this.generation, attempts: 0 });
        void this.drainInbound();
        return;
      case "error": {
        const code = ErrorCode[kind.value.code] ?? String(kind.value.code);
        const pending = kind.value.seq ? this.pendingSends.get(kind.value.seq) : undefined;
        if (pending) {
          this.pendingSends.delete(kind.value.seq);
          clearTimeout(pending.timer);
          pending.resolve(asResult(kind.value.seq, kind.value.code, kind.value.detail));
          return;
        }
        this.log.warn({ code, detail: kind.value.detail }, "gatekeeper reported an error frame");
        this.emit("serverError", { code, detail: kind.value.detail });
        return;
      }
      case "prekeysLow":
        this.emit("prekeysLow", { user: kind.value.user, remaining: kind.value.remaining });
        void this.refillFor(kind.value.user);
        return;
      case "devicesChanged":
        this.hints.setDevices(kind.value.user, kind.value.devices);
        this.emit("devicesChanged", { user: kind.value.user, devices: [...kind.value.devices] });
        return;
      default:
        return;
    }
  }

  private onConnectionState(status: ConnectionStatus): void {
    if (status.state === "connected") {
      // A reconnect: what changed while we were away reaches us as queued notices from a gatekeeper that keeps
      // them, but not from one that does not; the next send to each user reads its device list again.
      if (this.generation > 0) this.hints.clear();
      this.generation++;
    } else {
      const lost = new InteropUnavailableError(
        `connection to the gatekeeper ${status.state === "stopped" ? "stopped" : "lost"} before the SendResult came; the message may or may not have been accepted`,
        true,
      );
      for (const [seq, pending] of this.pendingSends) {
        clearTimeout(pending.timer);
        pending.reject(lost);
        this.pendingSends.delete(seq);
      }
      // The gatekeeper redelivers what we did not acknowledge on the next connection; local copies would repeat it.
      this.inbound.length = 0;
      this.blocked.clear();
      for (const timer of this.retrying) clearTimeout(timer);
      this.retrying.clear();
    }
    this.emit("state", this.status());
  }

  private async drainInbound(): Promise<void> {
    if (this.draining || !this.handler) return;
    this.draining = true;
    try {
      // In arrival order, one at a time: the order envelopes come in is the order users wrote them.
      while (this.inbound.length > 0 && this.handler) {
        const item = this.inbound.shift()!;
        if (item.generation !== this.generation) continue;
        // A chat whose earlier envelope failed waits behind it (other chats go on), or it would come out of order.
        const waiting = this.blocked.get(chatOf(item.envelope));
        if (waiting) {
          waiting.push(item);
          continue;
        }
        try {
          await this.handler(item.envelope);
        } catch (err) {
          if (err instanceof EnvelopeRefusedError) {
            this.ack(item.envelope, err);
            continue;
          }
          this.retryLater(item, err);
          continue;
        }
        this.ack(item.envelope);
      }
    } finally {
      this.draining = false;
    }
  }

  private retryLater(item: Inbound, err: unknown): void {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 60_000, ...this.options.handlerRetry });
    let delay = 0;
    for (let i = 0; i <= item.attempts; i++) delay = backoff.next();
    item.attempts++;
    this.log.warn(
      { err, messageId: messageIdToString(item.envelope.id), attempts: item.attempts, retryInMs: delay },
      "handling a delivered envelope failed; not acknowledging it, trying again later",
    );
    const chat = chatOf(item.envelope);
    this.blocked.set(chat, []);
    const timer = setTimeout(() => {
      this.retrying.delete(timer);
      const behind = this.blocked.get(chat) ?? [];
      this.blocked.delete(chat);
      if (item.generation !== this.generation) return;
      // The failed envelope first, then its chat's envelopes that came meanwhile, in the order they came.
      this.inbound.unshift(item, ...behind);
      void this.drainInbound();
    }, delay);
    this.retrying.add(timer);
  }

  private ack(envelope: Envelope, refusal?: EnvelopeRefusedError): void {
    const refused = refusal ? { refused: refusal.code, detail: refusal.detail } : {};
    try {
      this.connection.send({
        kind: {
          case: "ack",
          value: { id: envelope.id, recipient: envelope.recipient, recipientDevice: envelope.recipientDevice, ...refused },
        },
      });
    } catch {
      // Not connected: the gatekeeper delivers it again after the reconnect, and the handler sees a duplicate.
    }
  }

  // ---- sending -----------------------------------------------------------------------------------------------------

  /**
   * Sends all device copies of one message in one Send frame and returns the gatekeeper's SendResult (ok or a
   * refusal). Throws InteropUnavailableError when not connected within the timeout, or when the connection dropped
   * before the answer (outcome unknown: sending the same envelopes again is safe).
   */
  async sendEnvelopes(envelopes: Envelope[], options: { timeoutMs?: number } = {}): Promise<SendResult> {
    const timeoutMs = options.timeoutMs ?? this.sendTimeoutMs;
    const started = Date.now();
    await this.connection.waitConnected(timeoutMs);
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const seq = ++this.seq;
    return new Promise<SendResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingSends.delete(seq);
        reject(new InteropUnavailableError(`no SendResult within ${timeoutMs} ms; the message may or may not have been accepted`, true));
      }, remaining);
      this.pendingSends.set(seq, { resolve, reject, timer });
      try {
        this.connection.send({ kind: { case: "send", value: { seq, envelopes } } });
      } catch (err) {
        clearTimeout(timer);
        this.pendingSends.delete(seq);
        reject(err as Error);
      }
    });
  }

  /**
   * Encrypts one message for every device of the recipient (fetching bundles for devices without a session) and
   * commits the ratchet steps, running `request.persist` in the same transaction. Use with sendEnvelopes.
   */
  encryptMessage(request: FanoutRequest): Promise<FanoutResult> {
    return encryptForDevices({ api: this.api, hints: this.hints }, request);
  }

  /**
   * Learns from a refused Send: after STALE_DEVICES the recipient's current device list is known. Returns the devices
   * whose sessions must be rebuilt (pass them as `rebuild` to the next encryptMessage).
   */
  applySendResult(to: string, result: SendResult): Set<number> {
    if (result.ok || result.code !== ErrorCode.STALE_DEVICES) return new Set();
    this.hints.setDevices(to, result.currentDevices, result.staleDevices);
    return new Set(result.staleDevices);
  }

  /**
   * The send loop of one message, for every sender (sendContent, the bridge's outbox): sends `envelopes`; after a
   * STALE_DEVICES answer, learns the recipient's current device list and sends what `encrypt` makes for it instead, at
   * most maxDeviceListRetries times. Returns the last SendResult: ok, a refusal, or STALE_DEVICES when the device
   * list kept changing. `send` is how one attempt goes out (default: sendEnvelopes with the client's timeout).
   */
  async sendFollowingDevices(
    to: string,
    envelopes: Envelope[],
    encrypt: (rebuild: Set<number>) => Promise<Envelope[]>,
    send: (envelopes: Envelope[]) => Promise<SendResult> = (e) => this.sendEnvelopes(e),
  ): Promise<SendResult> {
    for (let attempt = 0; ; attempt++) {
      const result = await send(envelopes);
      if (result.ok || result.code !== ErrorCode.STALE_DEVICES || attempt >= this.maxDeviceListRetries) return result;
      const rebuild = this.applySendResult(to, result);
      this.log.debug({ current: result.currentDevices, stale: result.staleDevices, attempt }, "recipient's device list changed; encrypting again");
      envelopes = await encrypt(rebuild);
    }
  }

  /**
   * Encrypts and sends one message (padded Content bytes) to every device of `to`, following device list changes
   * (STALE_DEVICES) and resending the same envelopes across reconnects. Throws InteropSendError when the
   * gatekeeper refuses (NOT_OPTED_IN, BLOCKED, UNKNOWN_USER, RATE_LIMITED with retryAfterMs, INVALID, ...) and
   * InteropUnavailableError when no answer came in time. Not durable: the bridge's outbox uses the lower level.
   */
  async sendContent(
    from: SignalDeviceStore,
    to: string,
    plaintext: Uint8Array,
    messageId: Uint8Array,
    options: { timeoutMs?: number; timestampMs?: bigint } = {},
  ): Promise<SendReport> {
    const deadline = Date.now() + (options.timeoutMs ?? this.sendTimeoutMs);
    const timestampMs = options.timestampMs ?? BigInt(Date.now());
    const identityChanged = new Set<number>();
    let devices: number[] = [];
    const encrypt = async (rebuild: Set<number>): Promise<Envelope[]> => {
      const out = await this.encryptWhenReachable({ from, to, plaintext, messageId, timestampMs, rebuild }, deadline);
      for (const d of out.identityChangedDevices) identityChanged.add(d);
      devices = out.devices;
      return out.envelopes;
    };
    const result = await this.sendFollowingDevices(to, await encrypt(new Set()), encrypt, (envelopes) => this.sendUntilAnswered(envelopes, deadline));
    if (!result.ok) throw InteropSendError.fromResult(result, to);
    return {
      messageId: messageIdToString(messageId),
      devices,
      identityChangedDevices: [...identityChanged].sort((a, b) => a - b),
    };
  }

  /**
   * encryptMessage, waiting for the gatekeeper when it cannot be reached (its bundles are needed for new devices):
   * a send issued while the gatekeeper restarts goes out once it is back, within the deadline.
   */
  private async encryptWhenReachable(request: FanoutRequest, deadline: number): Promise<FanoutResult> {
    for (;;) {
      try {
        return await this.encryptMessage(request);
      } catch (err) {
        const unreachable = err instanceof GatekeeperHttpError && err.unreachable;
        const left = deadline - Date.now();
        if (!unreachable || left <= 0) throw err;
        this.log.info({ reason: err.message }, "gatekeeper unreachable while fetching bundles; waiting for it");
        if (this.connection.connected) await sleep(Math.min(left, 500));
        else await this.connection.waitConnected(left);
      }
    }
  }

  /** Sends the same envelopes until a SendResult arrives or the deadline passes; a lost answer is retried. */
  private async sendUntilAnswered(envelopes: Envelope[], deadline: number): Promise<SendResult> {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new InteropUnavailableError("no answer from the gatekeeper before the send deadline", true);
      try {
        return await this.sendEnvelopes(envelopes, { timeoutMs: left });
      } catch (err) {
        // Also when the connection closed between waiting for it and sending (a token renewal): nothing went out then.
        if (!(err instanceof InteropUnavailableError) || deadline - Date.now() <= 0) throw err;
        this.log.info({ outcomeUnknown: err.outcomeUnknown }, "connection lost while sending; sending the same envelopes again after reconnecting");
      }
    }
  }

  // ---- keys --------------------------------------------------------------------------------------------------------

  /**
   * Generates `oneTimePreKeys` new one-time EC and Kyber prekeys (creating the signed and last-resort prekeys the
   * first time), commits them, then uploads them with the user's token. Returns the counts the gatekeeper holds.
   */
  async uploadKeys(store: SignalDeviceStore, oneTimePreKeys = this.prekeyTarget): Promise<PreKeyCountResponse> {
    return this.uploadBatch(store, oneTimePreKeys, oneTimePreKeys);
  }

  /** Tops the device's one-time prekeys on the gatekeeper up to the target; null when nothing was missing. */
  async refillPreKeys(store: SignalDeviceStore): Promise<PreKeyCountResponse | null> {
    const counts = await this.api.keyCounts(store.local.uri);
    const held = counts.devices.find((d) => d.deviceId === store.local.deviceId);
    const ec = Math.max(0, this.prekeyTarget - (held?.oneTimePreKeys ?? 0));
    const kyber = Math.max(0, this.prekeyTarget - (held?.oneTimeKyberPreKeys ?? 0));
    if (held && ec === 0 && kyber === 0) return null;
    return this.uploadBatch(store, ec, kyber);
  }

  /** Rotates the signed and last-resort prekeys when older than `maxAgeMs` and uploads them; false if not due. */
  async rotateSignedPreKey(store: SignalDeviceStore, maxAgeMs: number): Promise<boolean> {
    const upload = await store.transact(async (uow) => rotateSignedPreKey(uow, maxAgeMs));
    if (!upload) return false;
    await this.api.uploadKeys(store.local.uri, { devices: [upload] });
    return true;
  }

  private async uploadBatch(store: SignalDeviceStore, ec: number, kyber: number): Promise<PreKeyCountResponse> {
    // Committed before the upload: the gatekeeper must never hand out a prekey whose private half we could lose.
    const upload = await store.transact(async (uow) =>
      refillPreKeys(uow, { oneTimePreKeys: ec, oneTimeKyberPreKeys: kyber }),
    );
    return this.api.uploadKeys(store.local.uri, { devices: [upload] });
  }

  private async refillFor(user: string): Promise<void> {
    const store = await this.options.localDevice?.(user);
    if (!store || this.refilling.has(user)) return;
    this.refilling.add(user);
    try {
      const counts = await this.refillPreKeys(store);
      if (counts) this.log.info({ user, devices: counts.devices }, "refilled one-time prekeys");
    } catch (err) {
      this.log.warn({ err, user }, "refilling one-time prekeys failed; the next PrekeysLow notice tries again");
    } finally {
      this.refilling.delete(user);
    }
  }
}

/** Envelopes keep their order per chat: one sender to one recipient (every device copy has its own stream). */
function chatOf(e: Envelope): string {
  return `${e.sender}\u0000${e.recipient}`;
}

/** An Error frame naming a Send's seq answers that Send like a refusing SendResult. */
function asResult(seq: bigint, code: ErrorCode, detail: string): SendResult {
  return create(SendResultSchema, { seq, ok: false, code, detail });
}
