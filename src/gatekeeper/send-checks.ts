// The gatekeeper's checks on a provider's Send, after the frame codec checked its shape, in the order the spec
// fixes: sender, recipient exists, opt-in, block, device set, rate limits (the provider's, then the sender's flood
// limits). The first failure decides the SendResult.
import { ErrorCode, type Envelope, type Send } from "../protocol/gen/interop_pb.js";
import type { Directory } from "./directory.js";
import type { KeyStore } from "./keys.js";
import type { Provider } from "./providers.js";
import type { TokenBuckets } from "./rate-limit.js";
import type { SenderLimits } from "./sender-limits.js";
import { matrixUserDomain, telUriE164 } from "./uris.js";

export type SendVerdict =
  | { ok: true; recipientE164: string; envelopes: Envelope[]; sender: string; recipient: string }
  | { ok: false; code: ErrorCode; detail: string; currentDevices?: number[]; staleDevices?: number[]; retryAfterMs?: number };

const fail = (code: ErrorCode, detail: string, extra: Partial<Extract<SendVerdict, { ok: false }>> = {}): SendVerdict => ({
  ok: false,
  code,
  detail,
  ...extra,
});

export class SendChecker {
  constructor(
    private readonly directory: Directory,
    private readonly keys: KeyStore,
    private readonly rateLimits: TokenBuckets,
    private readonly senderLimits: SenderLimits,
    /** Whether an envelope was accepted before: a retransmission is not counted against the sender again. */
    private readonly wasAccepted: (e: Envelope) => boolean = () => false,
  ) {}

  check(provider: Provider, send: Send): SendVerdict {
    const first = send.envelopes[0]!;

    const senderDomain = matrixUserDomain(first.sender);
    if (senderDomain === undefined || !provider.domains.includes(senderDomain)) {
      return fail(ErrorCode.UNAUTHORIZED, `sender ${first.sender} is not a matrix: user on this provider's domains`);
    }

    const e164 = telUriE164(first.recipient);
    if (e164 === undefined) return fail(ErrorCode.UNKNOWN_USER, `recipient ${first.recipient} is not a tel: user of this gatekeeper`);
    const unreachable = this.directory.reachability(e164, provider.id, first.sender);
    if (unreachable === "UNKNOWN_USER") return fail(ErrorCode.UNKNOWN_USER, `no user ${first.recipient}`);
    if (unreachable === "NOT_OPTED_IN") return fail(ErrorCode.NOT_OPTED_IN, `${first.recipient} does not accept chats from this provider`);
    if (unreachable === "BLOCKED") return fail(ErrorCode.BLOCKED, `${first.recipient} blocked ${first.sender}`);

    const current = this.keys.devices(first.recipient);
    const byDevice = new Map(send.envelopes.map((e) => [e.recipientDevice, e]));
    const stale = current.filter((d) => byDevice.has(d.deviceId) && byDevice.get(d.deviceId)!.recipientRegistrationId !== d.registrationId).map((d) => d.deviceId);
    const sameSet = current.length === byDevice.size && current.every((d) => byDevice.has(d.deviceId));
    if (!sameSet || stale.length > 0) {
      return fail(ErrorCode.STALE_DEVICES, sameSet ? "some devices were re-registered" : "device list differs from the recipient's current devices", {
        currentDevices: current.map((d) => d.deviceId),
        staleDevices: stale,
      });
    }

    if (!this.wasAccepted(first)) {
      const flood = this.senderLimits.check(first.sender, first.recipient);
      if (!flood.ok) {
        const what = flood.limit === "messages_per_minute" ? "messages per minute" : "new chats per hour";
        return fail(ErrorCode.RATE_LIMITED, `the sender is over its limit of ${what}`, { retryAfterMs: flood.retryAfterMs });
      }
    }
    const retryAfterMs = this.rateLimits.take(provider.id);
    if (retryAfterMs > 0) return fail(ErrorCode.RATE_LIMITED, "rate limit exceeded", { retryAfterMs });

    return { ok: true, recipientE164: e164, envelopes: send.envelopes, sender: first.sender, recipient: first.recipient };
  }

  /** Counts an accepted Send against its sender's flood limits. */
  accepted(verdict: Extract<SendVerdict, { ok: true }>): void {
    this.senderLimits.record(verdict.sender, verdict.recipient);
  }
}
