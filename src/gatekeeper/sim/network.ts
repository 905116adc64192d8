// The simulated users' side of the network: decrypts what providers sent them (and answers with delivery
// receipts), and sends as them to providers' users. Each step commits the ratchet state in the same SQLite
// transaction as its effect (received row, or queued envelopes), so a crash never loses or duplicates a message.
import { toJson } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { ReceiptType, receiptContent } from "../../protocol/content-builders.js";
import { decodeContent, encodeContent, type Content } from "../../protocol/content.js";
import { makeEnvelope } from "../../protocol/envelope.js";
import { ContentSchema } from "../../protocol/gen/content_pb.js";
import { EnvelopeType, type Envelope } from "../../protocol/gen/interop_pb.js";
import { messageIdToString, newMessageId } from "../../protocol/message-id.js";
import type { DevicePreKeyBundle } from "../../protocol/signal/bundle.js";
import { SignalError } from "../../protocol/signal/errors.js";
import { decryptFrom, encryptTo, sessionRegistrationId, startSessionFromBundle } from "../../protocol/signal/sessions.js";
import type { Db } from "../db.js";
import type { Directory } from "../directory.js";
import type { KeyStore } from "../keys.js";
import { HttpError } from "../http-error.js";
import type { MediaStore } from "../media.js";
import type { ProviderHub } from "../provider-hub.js";
import type { ProviderQueue } from "../provider-queue.js";
import type { ProviderRegistry } from "../providers.js";
import type { SenderLimits } from "../sender-limits.js";
import type { ProviderUserBlocks } from "../user-blocks.js";
import { matrixUserDomain, telUriE164 } from "../uris.js";
import { decodeEnvelope, encodeEnvelope } from "../wire.js";
import { composeContent, type SendRequest } from "./compose.js";
import type { SimDevices } from "./devices.js";
import type { InboxItem, SimInbox } from "./inbox.js";
import { checkReceivedMedia, storeMedia, type ReceivedMedia, type StoredMedia } from "./media.js";
import type { DiscardedStore, DiscardReason } from "./discarded.js";
import type { ReceivedMessage, ReceivedStore } from "./received.js";
import type { SimPolls } from "./polls.js";

export interface SimNetworkDeps {
  db: Db;
  log: Logger;
  directory: Directory;
  keys: KeyStore;
  providers: ProviderRegistry;
  devices: SimDevices;
  inbox: SimInbox;
  received: ReceivedStore;
  polls: SimPolls;
  discarded: DiscardedStore;
  queue: ProviderQueue;
  hub: ProviderHub;
  media: MediaStore;
  /** Provider users' blocks: a blocked simulated sender is refused, as a blocked phone's message would be. */
  userBlocks: ProviderUserBlocks;
  senderLimits: SenderLimits;
  /** Takes bundles from the key service (consuming one-time prekeys), as a phone would fetch them. */
  fetchBundles: (uri: string, deviceId?: number) => DevicePreKeyBundle[];
}

const INBOX_BATCH = 100;
const MAX_ATTEMPTS = 5;

export class SimNetwork {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Failed attempts per inbox seq, so an envelope that keeps failing for a non-crypto reason is given up on. */
  private readonly failures = new Map<number, number>();

  constructor(private readonly deps: SimNetworkDeps) {}

  /** New envelopes are in the inbox: process them (one at a time, in arrival order). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => {
        this.deps.log.error({ err }, "processing the simulated devices' inbox failed; retrying");
        this.retryLater();
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Stops taking new work and resolves when the current step is done (before the database closes). */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running) await this.running;
  }

  private retryLater(): void {
    setTimeout(() => this.wake(), 1000).unref();
  }

  /** Sends as a simulated user; returns the message id (32 hex digits) and, for media, the stored file's id. */
  async send(e164: string, req: SendRequest): Promise<{ id: string; mediaId?: string }> {
    const user = this.deps.directory.require(e164);
    const deviceId = req.device ?? user.devices[0]?.deviceId;
    if (deviceId === undefined) throw new HttpError(409, "CONFLICT", `${e164} has no devices`);
    const authorOf = (id: string) => {
      const found = this.deps.received.findByMessageId(e164, id);
      return found && found.sender === req.to ? ("partner" as const) : ("me" as const);
    };
    this.route(e164, req.to); // refuse an impossible recipient before storing a file for it
    const stored: StoredMedia | undefined = req.media ? await storeMedia(this.deps.media, user.uri, req.media) : undefined;
    let content: Content;
    try {
      content = req.vote ? this.deps.polls.voteContent(e164, user.uri, req.to, req.vote, BigInt(Date.now())) : composeContent(req, user.uri, authorOf, BigInt(Date.now()), stored);
    } catch (err) {
      throw new HttpError(400, "INVALID", err instanceof Error ? err.message : String(err));
    }
    const id = await this.sendContent(e164, deviceId, req.to, content);
    this.deps.polls.remember(e164, id, user.uri, content);
    return stored ? { id, mediaId: stored.mediaId } : { id };
  }

  /** Where envelopes for `to` go: the provider serving a matrix: user, or the inbox of another simulated user. */
  private route(fromE164: string, to: string): { kind: "provider"; providerId: string } | { kind: "local"; e164: string } {
    const sender = this.deps.directory.require(fromE164);
    if (sender.suspended) throw new HttpError(403, "SUSPENDED", `${sender.uri} is suspended${sender.suspendedReason ? ` (${sender.suspendedReason})` : ""}`);
    const localE164 = telUriE164(to);
    if (localE164 !== undefined) {
      if (localE164 === fromE164) throw new HttpError(400, "INVALID", "a simulated user cannot send to itself");
      const recipient = this.deps.directory.get(localE164);
      if (!recipient) throw new HttpError(404, "UNKNOWN_USER", `no user ${to}`);
      if (recipient.blocked.includes(sender.uri)) throw new HttpError(403, "BLOCKED", `${to} has blocked ${sender.uri}`);
      return { kind: "local", e164: localE164 };
    }
    const domain = matrixUserDomain(to);
    const providerId = domain === undefined ? undefined : this.deps.providers.providerIdForDomain(domain);
    if (providerId === undefined) throw new HttpError(404, "UNKNOWN_USER", `${to} is neither a tel: user of this gatekeeper nor a matrix: user of an enlisted provider`);
    if (this.deps.userBlocks.isBlocked(to, sender.uri)) throw new HttpError(403, "BLOCKED", `${to} has blocked ${sender.uri}`);
    const flood = this.deps.senderLimits.check(sender.uri, to);
    if (!flood.ok) {
      const what = flood.limit === "messages_per_minute" ? "messages per minute" : "new chats per hour";
      throw new HttpError(429, "RATE_LIMITED", `${sender.uri} is over its limit of ${what}`, flood.retryAfterMs);
    }
    return { kind: "provider", providerId };
  }

  /**
   * Encrypts `content` for every device of `to` and queues the envelopes: to its provider for a matrix: user, or
   * straight into the simulated devices' inbox for another phone-number user of this gatekeeper.
   */
  async sendContent(e164: string, deviceId: number, to: string, content: Content, id: Uint8Array = newMessageId()): Promise<string> {
    const target = this.route(e164, to);
    const user = this.deps.directory.require(e164);
    if (!user.devices.some((d) => d.deviceId === deviceId)) throw new HttpError(404, "NOT_FOUND", `${e164} has no device ${deviceId}`);
    const remoteDevices = this.deps.keys.devices(to);
    if (remoteDevices.length === 0) throw new HttpError(404, "UNKNOWN_USER", `${to} has uploaded no keys`);
    const plaintext = encodeContent(content);
    const timestampMs = BigInt(Date.now());

    const envelopes = await (await this.deps.devices.store(e164, deviceId)).transact(
      async (uow) => {
        const out: Envelope[] = [];
        for (const remote of remoteDevices) {
          const address = { uri: to, deviceId: remote.deviceId };
          // A session built for an older registration of that device is useless: start over from a fresh bundle.
          if ((await sessionRegistrationId(uow, address)) !== remote.registrationId) {
            const bundle = this.deps.fetchBundles(to, remote.deviceId)[0];
            if (!bundle) throw new HttpError(409, "CONFLICT", `${to} device ${remote.deviceId} has no keys`);
            await startSessionFromBundle(uow, address, bundle);
          }
          const encrypted = await encryptTo(uow, address, plaintext);
          out.push(
            makeEnvelope({
              id,
              timestampMs,
              sender: user.uri,
              senderDevice: deviceId,
              recipient: to,
              recipientDevice: remote.deviceId,
              type: encrypted.type === "prekey" ? EnvelopeType.PREKEY_MESSAGE : EnvelopeType.MESSAGE,
              ciphertext: encrypted.ciphertext,
              recipientRegistrationId: encrypted.remoteRegistrationId,
            }),
          );
        }
        return out;
      },
      (out) => {
        if (target.kind === "local") this.deps.inbox.accept(target.e164, out);
        else for (const e of out) this.deps.queue.enqueue(target.providerId, e, encodeEnvelope(e));
      },
    );
    if (target.kind === "local") {
      this.wake();
    } else {
      this.deps.senderLimits.record(user.uri, to);
      this.deps.hub.wake(target.providerId);
    }
    this.deps.log.debug({ from: deviceId, ...(target.kind === "provider" ? { provider: target.providerId } : { local: true }), devices: envelopes.length }, "simulated user sent a message");
    return messageIdToString(id);
  }

  private async drain(): Promise<void> {
    let after = 0;
    for (;;) {
      const batch = this.deps.inbox.next(INBOX_BATCH, after);
      if (batch.length === 0) return;
      for (const item of batch) {
        after = item.seq;
        if (this.stopped) return;
        try {
          await this.process(item);
          this.failures.delete(item.seq);
        } catch (err) {
          const attempts = (this.failures.get(item.seq) ?? 0) + 1;
          this.failures.set(item.seq, attempts);
          this.deps.log.error({ err, seq: item.seq, attempts }, "processing an envelope for a simulated device failed");
          if (attempts >= MAX_ATTEMPTS) {
            // Record it as unreadable rather than retrying for ever.
            this.deps.db.transaction(() => {
              this.discard(item, decodeEnvelopeOrUndefined(item.envelope), "gave-up", `after ${attempts} attempts: ${err instanceof Error ? err.message : String(err)}`);
              this.deps.inbox.remove(item.seq);
            })();
            this.failures.delete(item.seq);
          } else {
            this.retryLater();
          }
        }
      }
    }
  }

  private async process(item: InboxItem): Promise<void> {
    const { e164, deviceId } = item;
    const envelope = decodeEnvelopeOrUndefined(item.envelope);
    const user = this.deps.directory.get(e164);
    if (!envelope || !user || !user.devices.some((d) => d.deviceId === deviceId)) {
      this.deps.db.transaction(() => {
        if (envelope) this.discard(item, envelope, "unknown-recipient-device", `${e164} has no device ${deviceId} (any more)`);
        else this.discard(item, undefined, "undecodable-envelope", "the stored envelope does not decode");
        this.deps.inbox.remove(item.seq);
      })();
      return;
    }
    const sender = { uri: envelope.sender, deviceId: envelope.senderDevice };
    const base = {
      e164,
      deviceId,
      messageId: messageIdToString(envelope.id),
      sender: envelope.sender,
      senderDevice: envelope.senderDevice,
      timestampMs: Number(envelope.timestampMs),
    };
    let stored: ReceivedMessage | undefined;
    let content: Content | undefined;
    let media: ReceivedMedia | undefined;
    try {
      await (await this.deps.devices.store(e164, deviceId)).transact(
        async (uow) => {
          const type = envelope.type === EnvelopeType.PREKEY_MESSAGE ? "prekey" : "message";
          const { plaintext, identityChanged } = await decryptFrom(uow, sender, type, envelope.ciphertext);
          try {
            content = decodeContent(plaintext);
            // Like a phone that auto-downloads media: fetch, verify and decrypt the file now (a summary is kept).
            media = await checkReceivedMedia(this.deps.media, content);
            const pollVote = this.deps.polls.open(e164, envelope.sender, content);
            return { content: { ...(toJson(ContentSchema, content) as Record<string, unknown>), ...(pollVote ? { pollVote } : {}) }, identityChanged };
          } catch (err) {
            // The ratchet step happened; keep it and record what could not be read.
            return { content: { undecodable: err instanceof Error ? err.message : String(err) }, identityChanged };
          }
        },
        (r) => {
          stored = this.deps.received.add({ ...base, content: r.identityChanged ? { ...r.content, identityChanged: true } : r.content, ...(media ? { media } : {}) });
          if (stored && content) this.deps.polls.remember(e164, base.messageId, envelope.sender, content);
          // Decrypted fine, but this device already has a message with this ID: a sender's retry, shown once.
          if (!stored) this.discard(item, envelope, "redelivered", "a message with this ID was received before");
          this.deps.inbox.remove(item.seq);
        },
      );
    } catch (err) {
      // A concurrent ratchet step is transient: the inbox tries the envelope again.
      if (!(err instanceof SignalError) || err.code === "concurrent-modification") throw err;
      // Undecryptable ciphertext never becomes readable by retrying: record it and drop it from the inbox.
      this.deps.db.transaction(() => {
        if (err.code !== "duplicate-message") stored = this.deps.received.add({ ...base, content: { undecryptable: `${err.code}: ${err.message}` } });
        this.discard(item, envelope, err.code as DiscardReason, describeSignalError(err));
        this.deps.inbox.remove(item.seq);
      })();
      this.deps.log.warn({ code: err.code, device: deviceId, messageId: base.messageId, sender: envelope.sender, senderDevice: envelope.senderDevice }, "simulated device could not decrypt an envelope");
    }
    if (stored) this.deps.received.announce(stored);
    if (stored && content && this.wantsDeliveryReceipt(content, e164, deviceId)) {
      const receipt = receiptContent(ReceiptType.DELIVERED, [base.messageId], BigInt(Date.now()));
      await this.sendContent(e164, deviceId, envelope.sender, receipt).catch((err: unknown) =>
        this.deps.log.warn({ err, device: deviceId }, "simulated user could not send a delivery receipt"),
      );
    }
  }

  private discard(item: InboxItem, envelope: Envelope | undefined, reason: DiscardReason, detail: string): void {
    this.deps.discarded.add({
      e164: item.e164,
      deviceId: item.deviceId,
      messageId: envelope ? messageIdToString(envelope.id) : "",
      sender: envelope?.sender ?? "",
      senderDevice: envelope?.senderDevice ?? 0,
      reason,
      detail,
    });
  }

  /** Like a phone: a delivery receipt for messages people see (not for reactions, receipts or typing), sent once
   * per user, by its lowest-numbered device, unless the user turned receipts off. */
  private wantsDeliveryReceipt(content: Content, e164: string, deviceId: number): boolean {
    const m = content.message;
    if (!m || m.reactionMessage || m.protocolMessage) return false;
    const user = this.deps.directory.get(e164);
    return !!user && user.sendReceipts && user.devices[0]?.deviceId === deviceId;
  }
}

/** The SignalError's text with libsignal's own below it (which says "old counter", "bad MAC", ...). */
function describeSignalError(err: SignalError): string {
  const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? ` (${err.cause.message})` : "";
  return `${err.message}${cause}`;
}

function decodeEnvelopeOrUndefined(bytes: Uint8Array): Envelope | undefined {
  try {
    return decodeEnvelope(bytes);
  } catch {
    return undefined;
  }
}
