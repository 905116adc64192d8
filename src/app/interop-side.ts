// RemoteNetwork over the interop client, with the durable halves of the pipeline:
// - outbox: content is queued in the store, encrypted per device with the ratchet step and the envelopes committed
//   in one transaction, then sent (the same envelopes on every retry) until the gatekeeper answers;
// - inbox: a delivered envelope is decrypted and its content queued in the transaction that commits the ratchet step;
//   only then is it acknowledged.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { ErrorCode, SendSchema, type Envelope } from "../protocol/gen/interop_pb.js";
import { messageIdFromString, messageIdToString } from "../protocol/message-id.js";
import { matrixUri, parseUri } from "../protocol/uri.js";
import { whatsAppCodec, whatsAppDialect, whatsAppIds, whatsAppPhrases } from "../networks/whatsapp/index.js";
import { SignalDeviceStore } from "../protocol/signal/device-store.js";
import { ensureLocalIdentity, safetyNumber } from "../protocol/signal/identity.js";
import { SignalError } from "../protocol/signal/errors.js";
import type { InteropClient } from "../interop/client.js";
import { EnvelopeRefusedError, GatekeeperHttpError, InteropSendError, InteropUnavailableError } from "../interop/errors.js";
import { decryptEnvelope, isAlreadyDecrypted } from "../interop/receive.js";
import { RemoteError, type RemoteFailureReason, type RemoteNetwork, type RemoteProfile, type RemoteStatus } from "../core/ports.js";
import type { BridgeStore } from "../store/store.js";
import type { OutboxEntry } from "../store/outbox.js";
import { KeyedLock } from "../util/keyed-lock.js";
import { redactUri } from "../log.js";
import { readAtMost } from "./media/byte-limit.js";
import { InteropSafety } from "./interop-safety.js";
import type { IdentityChangePolicy } from "../config/schema.js";
import type { SenderAdmission } from "../core/sender-limits.js";

const MAX_AVATAR_BYTES = 5 * 1024 * 1024;

/** The bridge is device 1 of each Matrix user on the interop network. */
export const BRIDGE_DEVICE_ID = 1;

/** What the outbox worker does with one entry; the caller (the runtime) turns outcomes into notices. */
export type OutboxOutcome =
  | { kind: "sent" }
  /** bridge.identity_change: block_until_verified, and a verified contact's security code changed. */
  | { kind: "held"; detail: string }
  | { kind: "failed"; reason: RemoteFailureReason; detail: string }
  | { kind: "retry"; afterMs?: number; detail: string; unreachable: boolean; rateLimited?: boolean };

export class InteropRemoteNetwork implements RemoteNetwork {
  // Interop protocol v1 carries WhatsApp's content: its identities, markup and codec are the network's.
  readonly ids = whatsAppIds;
  readonly text = whatsAppDialect;
  readonly codec = whatsAppCodec;
  readonly phrases = whatsAppPhrases;
  private readonly identityLock = new KeyedLock();
  private readonly ready = new Set<string>();
  private readonly devices = new Map<string, SignalDeviceStore>();
  readonly safety: InteropSafety;

  constructor(
    readonly networkName: string,
    private readonly client: InteropClient,
    private readonly store: BridgeStore,
    private readonly log: Logger,
    private readonly onQueued: () => void,
    /** Whether remote traffic for this Matrix user may be bridged (the core's permission rules). */
    private readonly accepts: (matrixUser: string) => boolean = () => true,
    private readonly options: {
      identityChange?: IdentityChangePolicy;
      /** Whether the Matrix user's reachability setting lets this sender through (the core's rule). */
      reachableBy?: (matrixUser: string, sender: string) => Promise<boolean>;
      /** The per-sender flood limits (the core's rule): admit before decrypting, count once queued. */
      senderLimits?: {
        admit: (matrixUser: string, sender: string) => Promise<SenderAdmission>;
        count: (sender: string) => void;
      };
    } = {},
  ) {
    this.safety = new InteropSafety({
      client,
      trust: store.identityTrust,
      device: (matrixUser) => this.deviceStore(matrixUri(matrixUser)),
      policy: options.identityChange ?? "warn",
      log,
      toRemoteError,
    });
  }

  /**
   * The safety number between the user's interop identity and each of the contact's devices (null for a device the
   * user has no session with yet); an empty list when the user has no identity yet.
   */
  async safetyNumbers(matrixUser: string, contact: string, devices: readonly number[]): Promise<{ deviceId: number; digits: string | null }[]> {
    const store = await this.deviceStore(matrixUri(matrixUser));
    if (!store) return [];
    const uow = await store.begin();
    const out: { deviceId: number; digits: string | null }[] = [];
    for (const deviceId of devices) out.push({ deviceId, digits: (await safetyNumber(uow, { uri: contact, deviceId }))?.digits ?? null });
    return out;
  }

  /** The user's identity was deleted from the store (logout): the next use makes and uploads a new one. */
  forgetIdentity(matrixUser: string): void {
    const uri = matrixUri(matrixUser);
    this.ready.delete(uri);
    this.devices.delete(uri);
  }

  /** The Signal store of a Matrix user's interop device, if it exists (used for prekey refills). */
  async deviceStore(uri: string): Promise<SignalDeviceStore | undefined> {
    const cached = this.devices.get(uri);
    if (cached) return cached;
    const address = { uri, deviceId: BRIDGE_DEVICE_ID };
    if (!(await SignalDeviceStore.exists(this.store.db, address))) return undefined;
    const opened = await SignalDeviceStore.open(this.store.db, address);
    this.devices.set(uri, opened);
    return opened;
  }

  async ensureIdentity(matrixUser: string): Promise<void> {
    const uri = matrixUri(matrixUser);
    if (this.ready.has(uri)) return;
    await this.identityLock.run(uri, async () => {
      if (this.ready.has(uri)) return;
      const user = await this.store.users.ensure(matrixUser, uri);
      const device = await ensureLocalIdentity(this.store.db, uri, { deviceId: BRIDGE_DEVICE_ID });
      this.devices.set(uri, device);
      if (user.keysUploadedAt === null) {
        try {
          await this.client.uploadKeys(device);
        } catch (err) {
          throw toRemoteError(err);
        }
        await this.store.users.markKeysUploaded(matrixUser);
        this.log.info({ user: matrixUser }, "created the user's interop identity and uploaded its prekeys");
      }
      this.ready.add(uri);
    });
  }

  async lookup(_asMatrixUser: string, contact: string): Promise<RemoteProfile> {
    try {
      const entry = await this.client.lookup(contact);
      const avatarId = entry.profile.avatar;
      return {
        contact,
        name: entry.profile.name || undefined,
        devices: entry.devices.map((d) => d.deviceId),
        avatar: avatarId ? { id: avatarId, fetch: () => this.fetchAvatar(avatarId) } : undefined,
      };
    } catch (err) {
      throw toRemoteError(err);
    }
  }

  /** Profile pictures are public to the contact's chat partners: stored as plain images, bounded in size. */
  private async fetchAvatar(id: string): Promise<{ data: Uint8Array; contentType: string }> {
    const response = await this.client.api.downloadMedia(id);
    const contentType = response.headers.get("content-type") ?? "application/octet-stream";
    if (!contentType.startsWith("image/")) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`the profile picture is not an image (${contentType})`);
    }
    // Checked while it streams: a picture past the limit is not downloaded (nor held) any further.
    const data = await readAtMost(response, MAX_AVATAR_BYTES);
    return { data, contentType };
  }

  wake(): void {
    this.onQueued();
  }

  async status(): Promise<RemoteStatus> {
    const s = this.client.status();
    return { connected: s.state === "connected", since: s.since, lastError: s.lastError, pendingOutgoing: await this.store.outbox.pending() };
  }

  // ------------------------------------------------------------------ outbox

  /** Encrypts (once) and sends one outbox entry. Never throws for an expected failure: it reports an outcome. */
  async deliver(entry: OutboxEntry): Promise<OutboxOutcome> {
    try {
      await this.ensureIdentity(entry.matrixUser);
      const from = await this.deviceStore(matrixUri(entry.matrixUser));
      if (!from) throw new Error(`no interop identity for ${entry.matrixUser}`);
      if (await this.safety.mustReverify(entry.matrixUser, entry.remoteUri)) return HELD;
      const encrypt = async (rebuild: ReadonlySet<number>) => {
        const out = await this.encrypt(entry, from, rebuild);
        // Encrypting may be what first saw a verified contact's new key: then nothing goes out before the user verifies.
        if (await this.safety.mustReverify(entry.matrixUser, entry.remoteUri)) throw new HeldForVerification();
        return out;
      };
      const envelopes = entry.envelopes ? decodeEnvelopes(entry.envelopes) : await encrypt(new Set());
      // After STALE_DEVICES the new envelopes replace the stored ones (encrypt persists them).
      const result = await this.client.sendFollowingDevices(entry.remoteUri, envelopes, encrypt, (attempt) => {
        // While disconnected, wait only briefly: the user hears about the outage and the entry is retried on reconnect.
        const connected = this.client.status().state === "connected";
        return this.client.sendEnvelopes(attempt, { timeoutMs: connected ? 30_000 : 5_000 });
      });
      if (result.ok) return { kind: "sent" };
      const refused = InteropSendError.fromResult(result, redactUri(entry.remoteUri));
      if (refused.code === "RATE_LIMITED" || refused.code === "INTERNAL" || refused.code === "STALE_DEVICES") {
        return { kind: "retry", afterMs: refused.retryAfterMs, detail: refused.message, unreachable: false, rateLimited: refused.code === "RATE_LIMITED" };
      }
      return { kind: "failed", reason: toRemoteError(refused).reason, detail: refused.message };
    } catch (err) {
      if (err instanceof HeldForVerification) return HELD;
      const remote = toRemoteError(err);
      if (remote.reason === "unreachable" || remote.reason === "rate_limited" || remote.reason === "internal") {
        return { kind: "retry", detail: remote.message, unreachable: remote.reason === "unreachable", rateLimited: remote.reason === "rate_limited" };
      }
      return { kind: "failed", reason: remote.reason, detail: remote.message };
    }
  }

  private async encrypt(entry: OutboxEntry, from: SignalDeviceStore, rebuild: ReadonlySet<number>): Promise<Envelope[]> {
    const out = await this.client.encryptMessage({
      from,
      to: entry.remoteUri,
      plaintext: entry.content,
      messageId: messageIdFromString(entry.messageId),
      timestampMs: BigInt(entry.createdAt),
      rebuild,
      persist: (result) => this.store.outbox.setEnvelopes(entry.seq, encodeEnvelopes(result.envelopes)),
    });
    return out.envelopes;
  }

  // ------------------------------------------------------------------ inbox

  /** The interop client's envelope handler: returns once the content is durably queued (then it is acknowledged). */
  async receive(envelope: Envelope): Promise<void> {
    const messageId = messageIdToString(envelope.id);
    const user = await this.store.users.byUri(envelope.recipient);
    if (!user) {
      this.log.error({ recipient: redactUri(envelope.recipient), messageId }, "envelope for a user this bridge does not know; dropping it");
      return;
    }
    let sender;
    try {
      sender = parseUri(envelope.sender);
    } catch {
      this.log.error({ messageId }, "envelope with an invalid sender URI; dropping it");
      return;
    }
    if (sender.kind !== "tel") {
      this.log.warn({ messageId }, "envelope from a non-phone sender; only phone-number users are bridged");
      return;
    }
    if (!this.accepts(user.userId)) {
      // Refused, not dropped: the gatekeeper takes it off its queue and tells the sender it was not delivered.
      this.log.warn({ user: user.userId, messageId }, "refusing an envelope: its recipient may no longer use the bridge");
      throw new EnvelopeRefusedError(ErrorCode.UNKNOWN_USER, "the recipient may no longer use this provider's bridge");
    }
    if (await this.store.inbox.wasSeen(messageId, user.userId, envelope.sender, envelope.senderDevice)) return; // redelivery
    if (this.options.reachableBy && !(await this.options.reachableBy(user.userId, envelope.sender))) {
      // As a block looks to the sender: not delivered. Nothing is decrypted, so no session is set up with them.
      this.log.info({ messageId, sender: redactUri(envelope.sender) }, "refusing an envelope: the recipient is not reachable by this sender");
      throw new EnvelopeRefusedError(ErrorCode.BLOCKED, "the recipient does not take messages from this sender");
    }
    const admission = await this.options.senderLimits?.admit(user.userId, envelope.sender);
    if (admission && !admission.ok) throw new EnvelopeRefusedError(ErrorCode.RATE_LIMITED, admission.detail);
    const device = await this.deviceStore(envelope.recipient);
    if (!device) {
      this.log.error({ user: user.userId, messageId }, "envelope for a user without an interop identity; dropping it");
      return;
    }
    try {
      await decryptEnvelope(device, envelope, async (d) => {
        await this.store.inbox.addOnce({
          matrixUser: user.userId,
          remoteUri: d.sender,
          senderDevice: d.senderDevice,
          messageId: d.messageId,
          timestamp: d.timestampMs,
          content: d.plaintext,
          identityChanged: d.identityChanged,
        });
      });
    } catch (err) {
      if (isAlreadyDecrypted(err)) return;
      // A store failure or a concurrent ratchet step: not acknowledged, so it is tried again.
      if (!(err instanceof SignalError) || err.code === "concurrent-modification") throw err;
      // It can never be decrypted: queue an empty entry so the user is told a message was lost.
      this.log.error({ err, messageId, sender: redactUri(envelope.sender) }, "could not decrypt an envelope");
      await this.store.inbox.addOnce({
        matrixUser: user.userId,
        remoteUri: envelope.sender,
        senderDevice: envelope.senderDevice,
        messageId,
        timestamp: Number(envelope.timestampMs),
        content: new Uint8Array(),
        identityChanged: false,
      });
    }
    this.options.senderLimits?.count(envelope.sender);
    this.onQueued();
  }
}

class HeldForVerification extends Error {
  constructor() {
    super("held until the user verifies the contact's new security code");
    this.name = "HeldForVerification";
  }
}

const HELD: OutboxOutcome = { kind: "held", detail: "held until the user verifies the contact's new security code" };

function encodeEnvelopes(envelopes: Envelope[]): Uint8Array {
  return toBinary(SendSchema, create(SendSchema, { seq: 0n, envelopes }));
}

function decodeEnvelopes(bytes: Uint8Array): Envelope[] {
  return fromBinary(SendSchema, bytes).envelopes;
}

export function toRemoteError(err: unknown): RemoteError {
  if (err instanceof RemoteError) return err;
  if (err instanceof InteropSendError) {
    const map: Record<string, RemoteFailureReason> = {
      UNKNOWN_USER: "unknown_user",
      NO_DEVICES: "unknown_user",
      NOT_OPTED_IN: "not_opted_in",
      BLOCKED: "blocked",
      RATE_LIMITED: "rate_limited",
      INVALID: "invalid",
      UNAUTHORIZED: "invalid",
    };
    return new RemoteError(map[err.code] ?? "internal", err.message);
  }
  if (err instanceof GatekeeperHttpError) {
    const map: Record<string, RemoteFailureReason> = {
      UNKNOWN_USER: "unknown_user",
      NOT_OPTED_IN: "not_opted_in",
      BLOCKED: "blocked",
      RATE_LIMITED: "rate_limited",
      INVALID: "invalid",
    };
    const reason = map[err.errcode] ?? (err.unreachable || err.status >= 500 ? "unreachable" : "internal");
    return new RemoteError(reason, err.message);
  }
  if (err instanceof InteropUnavailableError) return new RemoteError("unreachable", err.message);
  const message = err instanceof Error ? err.message : String(err);
  // fetch() failures (connection refused, DNS, timeouts) arrive as TypeError/AbortError.
  if (err instanceof TypeError || (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"))) {
    return new RemoteError("unreachable", message);
  }
  return new RemoteError("internal", message);
}
