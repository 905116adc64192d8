// The provider's side of `GET /v1/ws`: decodes client frames and answers each one. A bad frame gets an Error or a
// SendResult and the connection stays open.
import type { Logger } from "pino";
import { ErrorCode, type Ack, type Send } from "../protocol/gen/interop_pb.js";
import type { ProviderHub, ProviderLink } from "./provider-hub.js";
import type { ProviderQueue } from "./provider-queue.js";
import type { DeliveryRefusals } from "./refusals.js";
import { decodeEnvelope } from "../protocol/envelope.js";
import type { ProviderRegistry } from "./providers.js";
import type { SendChecker } from "./send-checks.js";
import type { SimInbox } from "./sim/inbox.js";
import { isProtocolError } from "../protocol/errors.js";
import { decodeClientFrame, encodeServerFrame, seqOfInvalidSend, type ServerFrameInit } from "./wire.js";

export interface ProviderSocketDeps {
  providers: ProviderRegistry;
  checker: SendChecker;
  inbox: SimInbox;
  queue: ProviderQueue;
  refusals: DeliveryRefusals;
  hub: ProviderHub;
  log: Logger;
  /** Called after envelopes for simulated devices were stored. */
  onAccepted: () => void;
}

export class ProviderSocket {
  private stopped = false;

  constructor(
    private readonly providerId: string,
    private readonly link: ProviderLink,
    private readonly deps: ProviderSocketDeps,
  ) {}

  /** No further frame is handled (the connection is being closed). */
  stop(): void {
    this.stopped = true;
  }

  onMessage(data: Uint8Array, isBinary: boolean): void {
    if (this.stopped) return;
    if (!isBinary) return this.error(ErrorCode.INVALID, "frames are binary protobuf ClientFrame messages, not text");
    let frame;
    try {
      frame = decodeClientFrame(data);
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      const seq = seqOfInvalidSend(data);
      if (seq === undefined) return this.error(ErrorCode.INVALID, err.message);
      return this.reply({ kind: { case: "sendResult", value: { seq, ok: false, code: ErrorCode.INVALID, detail: clip(err.message) } } });
    }
    try {
      switch (frame.kind.case) {
        case "send":
          return this.onSend(frame.kind.value);
        case "ack":
          return this.onAck(frame.kind.value);
        case "ping":
          return this.reply({ kind: { case: "pong", value: { nonce: frame.kind.value.nonce } } });
        default:
          return this.error(ErrorCode.INVALID, "frame has no known kind (expected send, ack or ping)");
      }
    } catch (err) {
      this.deps.log.error({ err, provider: this.providerId }, "handling a provider frame failed");
      const seq = frame.kind.case === "send" ? frame.kind.value.seq : 0n;
      if (frame.kind.case === "send") {
        return this.reply({ kind: { case: "sendResult", value: { seq, ok: false, code: ErrorCode.INTERNAL, detail: "internal error" } } });
      }
      return this.error(ErrorCode.INTERNAL, "internal error");
    }
  }

  private onSend(send: Send): void {
    const provider = this.deps.providers.get(this.providerId);
    if (!provider) {
      this.link.close(4001, "provider no longer enlisted");
      return;
    }
    const verdict = this.deps.checker.check(provider, send);
    if (!verdict.ok) {
      this.deps.log.debug({ provider: this.providerId, seq: String(send.seq), code: ErrorCode[verdict.code], detail: verdict.detail }, "send refused");
      return this.reply({
        kind: {
          case: "sendResult",
          value: {
            seq: send.seq,
            ok: false,
            code: verdict.code,
            detail: clip(verdict.detail),
            currentDevices: verdict.currentDevices ?? [],
            staleDevices: verdict.staleDevices ?? [],
            retryAfterMs: verdict.retryAfterMs ?? 0,
          },
        },
      });
    }
    // Stored before the SendResult goes out: once the provider sees ok, the message cannot be lost here.
    const added = this.deps.inbox.accept(verdict.recipientE164, verdict.envelopes);
    if (added > 0) this.deps.checker.accepted(verdict);
    this.reply({ kind: { case: "sendResult", value: { seq: send.seq, ok: true } } });
    if (added > 0) this.deps.onAccepted();
  }

  private onAck(ack: Ack): void {
    const envelope = this.deps.queue.ack(this.providerId, ack.id, ack.recipient, ack.recipientDevice);
    if (!envelope) {
      // Acks are idempotent: a second Ack after a redelivery is normal.
      this.deps.log.debug({ provider: this.providerId }, "ack for an envelope not in the queue");
      return;
    }
    if (ack.refused !== ErrorCode.ERROR_CODE_UNSPECIFIED) {
      this.deps.refusals.record(this.providerId, decodeEnvelope(envelope), ack.refused, ack.detail);
      this.deps.log.info({ provider: this.providerId, code: ErrorCode[ack.refused] }, "the provider refused to deliver an envelope; its sender is told");
    }
  }

  private error(code: ErrorCode, detail: string): void {
    this.deps.log.debug({ provider: this.providerId, code: ErrorCode[code], detail }, "frame error");
    this.reply({ kind: { case: "error", value: { code, detail: clip(detail) } } });
  }

  private reply(frame: ServerFrameInit): void {
    this.link.send(encodeServerFrame(frame));
  }
}

// Details echo parts of the offending input; keep them well inside the protocol's limit for detail strings.
const clip = (detail: string) => (detail.length > 500 ? `${detail.slice(0, 500)}…` : detail);
