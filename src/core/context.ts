// What every handler of the core works with: the ports, the store, the config, and the few helpers they share
// (permissions, puppets, notices, why something failed).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { BridgeConfig, Role } from "../config/schema.js";
import { puppetUserId } from "../config/identities.js";
import { permissionFor } from "../config/permissions.js";
import type { BridgeStore } from "../store/store.js";
import { KeyedLock } from "../util/keyed-lock.js";
import { SlidingWindow } from "../util/sliding-window.js";
import { LimitError } from "./limit-error.js";
import { notices } from "./notices.js";
import { RemoteError, type MatrixSide, type MediaPort, type OperationsPort, type RemoteFailureReason, type RemoteNetwork } from "./ports.js";

export interface CoreDeps {
  config: BridgeConfig;
  store: BridgeStore;
  matrix: MatrixSide;
  remote: RemoteNetwork;
  log: Logger;
  media?: MediaPort | undefined;
  /** The runtime's operations for admin commands; absent in tests that need none. */
  ops?: OperationsPort | undefined;
}

const LEVELS: Record<Role, number> = { user: 1, admin: 2 };

/** How long a portal's checked membership is trusted without a membership event saying otherwise. */
const MEMBERS_CHECK_TTL_MS = 5 * 60_000;

/** Keys checked within the last `ttlMs`; bounded, the oldest checks go first. */
export class RecentChecks {
  private readonly at = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}

  fresh(key: string, now = Date.now()): boolean {
    const t = this.at.get(key);
    return t !== undefined && now - t < this.ttlMs;
  }

  mark(key: string, now = Date.now()): void {
    this.at.delete(key);
    this.at.set(key, now);
    if (this.at.size > this.max) this.at.delete(this.at.keys().next().value!);
  }

  forget(key: string): void {
    this.at.delete(key);
  }
}

export class CoreContext {
  readonly config: BridgeConfig;
  readonly store: BridgeStore;
  readonly matrix: MatrixSide;
  readonly remote: RemoteNetwork;
  readonly log: Logger;
  readonly media: MediaPort | undefined;
  readonly ops: OperationsPort | undefined;
  /** One chat's portal work at a time (creating, adopting), so two first messages never make two rooms. */
  readonly chatLock = new KeyedLock();
  /** Rooms told about the current outage, so each hears it once. */
  readonly outageNoticeSent = new Set<string>();
  /** Held messages (awaiting verification) whose sender was told; the txnId makes it once across restarts too. */
  readonly heldNoticeSent = new Set<string>();
  /** Rooms told that messages are held over the user's messages per minute; cleared when one goes out. */
  readonly limitNoticeSent = new Set<string>();
  /** Rooms told that the network is rate limiting the user; cleared when one goes out. */
  readonly rateLimitNoticeSent = new Set<string>();
  /** Envelopes taken from each remote sender in the last minute (bridge.limits.sender_messages_per_minute). */
  readonly senderMinute = new SlidingWindow(60_000);
  /** The Matrix user's last typing state per room, so only changes go out. */
  readonly typingState = new Map<string, boolean>();
  /**
   * Portal rooms whose members (puppet and user) were checked lately: a chat's every message need not ask the
   * homeserver again. Any membership event in the room forgets the check.
   */
  readonly membersChecked = new RecentChecks(MEMBERS_CHECK_TTL_MS);
  /** A disappearing message's redaction was scheduled for `at` (ms); the expiry sweeper listens (bridge.ts). */
  expiryScheduled: (at: number) => void = () => {};

  constructor(deps: CoreDeps) {
    this.config = deps.config;
    this.store = deps.store;
    this.matrix = deps.matrix;
    this.remote = deps.remote;
    this.log = deps.log;
    this.media = deps.media;
    this.ops = deps.ops;
  }

  get network(): string {
    return this.remote.networkName;
  }

  allowed(userId: string): boolean {
    return permissionFor(this.config, userId) !== null;
  }

  /** Whether the user's role is at least `level`. */
  hasLevel(userId: string, level: Role): boolean {
    const role = permissionFor(this.config, userId);
    return role !== null && LEVELS[role] >= LEVELS[level];
  }

  puppetOf(contact: string): string {
    return puppetUserId(this.config, this.remote.ids.puppetKey(contact));
  }

  label(contact: string): string {
    return this.remote.ids.label(contact);
  }

  chatKey(userId: string, contact: string): string {
    return `${userId}\u0000${contact}`;
  }

  async notice(asUser: string, roomId: string, text: string, txnId: string): Promise<void> {
    await this.matrix.sendEvent(asUser, roomId, "m.room.message", { msgtype: "m.notice", body: text }, txnId);
  }

  noticeAsPuppet(contact: string, roomId: string, text: string, txnId: string): Promise<void> {
    return this.notice(this.puppetOf(contact), roomId, text, txnId);
  }

  /** Why something could not be done with a contact, for the user: the network's errors in plain words. */
  explain(err: unknown, contact: string): string {
    if (err instanceof LimitError) return err.message;
    if (!(err instanceof RemoteError)) return this.internalFailure(err);
    const who = this.label(contact);
    switch (err.reason) {
      case "unknown_user":
        return notices.unknownUser(who, this.network);
      case "not_opted_in":
        return this.remote.phrases.notOptedIn(who);
      case "blocked":
        return notices.blocked(who, this.network);
      case "rate_limited":
        return notices.rateLimited(this.network);
      case "invalid":
        this.log.warn({ detail: err.message }, "the remote network refused a request as invalid");
        return notices.invalid(this.network);
      case "unreachable":
        this.log.warn({ detail: err.message }, "the remote network is unreachable");
        return notices.unreachable(this.network);
      default:
        return this.internalFailure(err, `the remote network reported an error (${err.reason})`);
    }
  }

  /** Logs an unexpected failure under a reference and returns the sentence users see: it names no internals. */
  internalFailure(err: unknown, what = "unexpected error"): string {
    const ref = randomBytes(4).toString("hex");
    this.log.error({ err, ref }, what);
    return notices.internal(ref);
  }

  /**
   * Delivery status for clients that show it (com.beeper.message_send_status, as other bridges send it). Best effort:
   * the message itself is already delivered or already explained by a notice.
   */
  async messageStatus(contact: string, roomId: string, eventId: string, status: "SUCCESS" | "FAIL_PERMANENT", txnId: string, extra: Record<string, unknown> = {}): Promise<void> {
    if (!this.config.bridge.message_status_events) return;
    const content = { network: this.network.toLowerCase(), "m.relates_to": { rel_type: "m.reference", event_id: eventId }, status, ...extra };
    await this.matrix
      .sendEvent(this.puppetOf(contact), roomId, "com.beeper.message_send_status", content, `mss-${txnId}`)
      .catch((err) => this.log.warn({ err, room: roomId }, "could not post a message status"));
  }
}

export function isPermanent(reason: RemoteFailureReason): boolean {
  return reason === "unknown_user" || reason === "not_opted_in" || reason === "blocked" || reason === "invalid";
}
