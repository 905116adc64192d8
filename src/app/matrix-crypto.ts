// Matrix E2EE in the bridge runtime: feeds the crypto items of appservice transactions to the engine, decrypts room
// events before the core sees them (parking those whose room key has not arrived), and encrypts what the bridge's
// users send into encrypted rooms. The core never sees ciphertext and never touches crypto.
import { redactDigits } from "../log.js";
import type { Logger } from "pino";
import type { BridgeConfig } from "../config/schema.js";
import { botUserId, isPuppetUserId, puppetUserId } from "../config/identities.js";
import type { MatrixEvent } from "../core/bridge.js";
import { parseUri } from "../protocol/uri.js";
import { CRYPTO_LANE, type QueuedInbound } from "../store/appservice-queue.js";
import { CryptoDeviceStore } from "../store/crypto-devices.js";
import { CryptoRecordTable } from "../store/crypto-records.js";
import { BEHIND, CryptoWaitingStore, type WaitingEvent } from "../store/crypto-waiting.js";
import type { BridgeStore } from "../store/store.js";
import type { MatrixClient } from "../matrix/client.js";
import type { ToDeviceEvent } from "../matrix/events.js";
import type { OneTimeKeyCounts, UnusedFallbackKeyTypes } from "../matrix/transaction.js";
import { cryptoPaths, MatrixCryptoEngine, type ExcludedDevice } from "../matrix/crypto/engine.js";
import type { CryptoObserver } from "../matrix/crypto/observer.js";

/** Where the transaction sink queues to-device messages, device lists and key counts: one ordered lane. */
export const CRYPTO_QUEUE_KEY = CRYPTO_LANE;

export interface BridgeCryptoOptions {
  config: BridgeConfig;
  client: MatrixClient;
  store: BridgeStore;
  log: Logger;
  /** Something was put back into the inbound queue. */
  kickInbound: () => void;
  /** Posts a notice into a room as a bridge user (encrypted like everything else it sends). */
  notice: (asUser: string, roomId: string, content: Record<string, unknown>, txnId: string) => Promise<void>;
  /** How long an event waits for its room key before the sender is told it was lost (default 10 minutes). */
  maxKeyWaitMs?: number;
  /** Metrics of the engine's operations. */
  observer?: CryptoObserver;
  /** How long an undecryptable event waits for older to-device messages in the queue (default 5 s). */
  catchUpMs?: number;
}

/** What the Matrix side needs to send in encrypted rooms. */
export interface SendEncryption {
  ensureDevice(userId: string): Promise<string>;
  /** The event to send instead (encrypted, from the user's device), or null when the room is not encrypted. */
  seal(asUser: string, roomId: string, type: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown>; deviceId: string } | null>;
  /** The bridge changed the room's membership: members must be read again before the next room key is shared. */
  roomChanged(roomId: string): void;
  /**
   * `asUser` just joined: if the room turns out encrypted (the invite did not say, e.g. a homeserver that sends no
   * stripped state), the user gets its crypto device now.
   */
  joined(asUser: string, roomId: string): Promise<void>;
}

const SWEEP_MS = 30_000;
/** How long later events of a room wait behind one whose room key has not come (keys come within seconds). */
const ORDER_HOLD_MS = 15_000;

/** Whether an earlier waiting event of the room holds this one (`me`, or a new one when undefined) back. */
function heldBack(waiting: readonly WaitingEvent[], me: WaitingEvent | undefined, now: number): boolean {
  for (const w of waiting) {
    if (w === me) return false;
    if (w.sessionId === BEHIND || now - w.firstSeenAt < ORDER_HOLD_MS) return true;
  }
  return false;
}

export class BridgeCrypto implements SendEncryption {
  readonly waiting: CryptoWaitingStore;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly holdTimers = new Map<string, NodeJS.Timeout>();
  private readonly maxKeyWaitMs: number;
  private readonly catchUpMs: number;
  /** When each bridge user's to-device inbox was last read from the homeserver. */
  private readonly inboxReads = new Map<string, number>();
  /** Excluded devices whose notice is being posted (room, user, device). */
  private readonly telling = new Set<string>();

  private constructor(
    readonly engine: MatrixCryptoEngine,
    private readonly opts: BridgeCryptoOptions,
  ) {
    this.waiting = new CryptoWaitingStore(opts.store.db);
    this.maxKeyWaitMs = opts.maxKeyWaitMs ?? 10 * 60_000;
    this.catchUpMs = opts.catchUpMs ?? 5_000;
  }

  static async start(opts: BridgeCryptoOptions): Promise<BridgeCrypto> {
    const paths = cryptoPaths(opts.config.database.path);
    let self: BridgeCrypto | undefined;
    const engine = await MatrixCryptoEngine.start({
      client: opts.client,
      devices: new CryptoDeviceStore(opts.store.db),
      records: new CryptoRecordTable(opts.store.db),
      ...paths,
      deviceDisplayName: `${opts.config.bridge.network_name} bridge`,
      maxOpenMachines: opts.config.bridge.encryption.max_open_devices,
      log: opts.log,
      onRoomKeys: (roomId, sessionIds) => self?.keysArrived(roomId, sessionIds),
      ...(opts.observer ? { observer: opts.observer } : {}),
      shareKeysWith: opts.config.bridge.encryption.share_keys_with,
      onDevicesExcluded: (asUser, roomId, devices) => self?.tellExcluded(asUser, roomId, devices),
    });
    self = new BridgeCrypto(engine, opts);
    const sweepMs = Math.min(SWEEP_MS, Math.max(1_000, self.maxKeyWaitMs / 4));
    self.sweepTimer = setInterval(() => void self!.sweep().catch((err) => opts.log.error({ err }, "sweeping undecryptable events failed")), sweepMs);
    self.sweepTimer.unref();
    // Keys may have arrived for parked events while the bridge was down (the engine reports them as they arrive).
    void self.sweep().catch((err) => opts.log.error({ err }, "sweeping undecryptable events failed"));
    return self;
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    for (const t of this.holdTimers.values()) clearTimeout(t);
    await this.engine.stop();
  }

  // ------------------------------------------------------------------------------------------------ inbound

  isCryptoItem(item: QueuedInbound): boolean {
    return item.kind === "to_device" || item.kind === "device_lists" || item.kind === "key_counts";
  }

  async handleCryptoItem(item: QueuedInbound): Promise<void> {
    if (item.kind === "to_device") return this.engine.receiveToDevice(item.payload as ToDeviceEvent);
    if (item.kind === "device_lists") return this.engine.receiveDeviceLists(item.payload as { changed: string[]; left: string[] });
    if (item.kind === "key_counts") {
      const p = item.payload as { otk: OneTimeKeyCounts; fallback: UnusedFallbackKeyTypes };
      return this.engine.receiveKeyCounts(p.otk ?? {}, p.fallback ?? {});
    }
  }

  /**
   * The event as the core should see it: decrypted if it was encrypted. Undefined when there is nothing for the core:
   * the event waits for its room key, or could not be decrypted (the sender is told), or waits behind an earlier event
   * of its room that waits for its key. That last wait keeps the room's order (a message whose key came late is not
   * sent after the ones written after it), but only for ORDER_HOLD_MS: a key that does not come soon may never come,
   * and the room's later messages do not wait for it any longer.
   */
  async readEvent(item: QueuedInbound): Promise<MatrixEvent | undefined> {
    const ev = item.payload as MatrixEvent;
    const waiting = await this.waiting.inRoom(ev.room_id);
    if (waiting.length === 0) return this.readNow(item, ev);
    const me = waiting.find((w) => w.eventId === ev.event_id);
    if (heldBack(waiting, me, Date.now())) {
      if (!me) {
        await this.waiting.park({ roomId: ev.room_id, eventId: ev.event_id, sessionId: BEHIND, decryptAs: "", payload: ev });
        this.opts.log.info({ room: ev.room_id, event: ev.event_id }, "event waits behind an earlier one of its room whose key has not come");
        this.releaseAfterHold(ev.room_id);
      }
      return undefined;
    }
    const out = await this.readNow(item, ev);
    // Its turn has come and gone (unless it now waits for a key of its own): the next one of the room may go.
    if (me?.sessionId === BEHIND) {
      const still = (await this.waiting.inRoom(ev.room_id)).find((w) => w.eventId === ev.event_id);
      if (still?.sessionId === BEHIND) await this.waiting.remove(ev.room_id, ev.event_id);
    }
    await this.releaseNext(ev.room_id);
    return out;
  }

  /** Puts the room's first event that waits only for its turn back into the queue, once, if nothing holds it. */
  private async releaseNext(roomId: string): Promise<void> {
    const now = Date.now();
    for (const w of await this.waiting.inRoom(roomId)) {
      if (w.sessionId !== BEHIND) {
        if (now - w.firstSeenAt < ORDER_HOLD_MS) return; // its key may still come: it holds the rest
        continue; // waited for long enough; it goes whenever its key comes
      }
      if (w.releasedAt !== null) return; // on its way: it lets the next go once it has been handled
      await this.requeue(w);
      await this.waiting.markReleased(roomId, w.eventId, now);
      this.opts.kickInbound();
      return;
    }
  }

  /** After the hold, the room's later events go even if the earlier event's key has not come. */
  private releaseAfterHold(roomId: string): void {
    if (this.holdTimers.has(roomId)) return;
    const timer = setTimeout(() => {
      this.holdTimers.delete(roomId);
      this.releaseNext(roomId).catch((err) => this.opts.log.warn({ err, room: roomId }, "could not let a room's waiting events go"));
    }, ORDER_HOLD_MS + 100);
    timer.unref();
    this.holdTimers.set(roomId, timer);
  }

  private async readNow(item: QueuedInbound, ev: MatrixEvent): Promise<MatrixEvent | undefined> {
    this.engine.observeRoomEvent(ev);
    // A portal turned encrypted: its puppet had no device until now (devices are made only for encrypted rooms).
    if (ev.type === "m.room.encryption" && ev.state_key === "") await this.deviceForEncryptedRoom(ev.room_id);
    if (ev.type !== "m.room.encrypted") return ev;
    if (this.isBridgeUser(ev.sender)) return undefined; // our own echo
    const decryptAs = await this.decryptorFor(ev.room_id);
    let outcome = await this.engine.decrypt(decryptAs, ev);
    // The key usually travels in the same transaction, queued right behind the event: let those items go first.
    if (outcome.kind === "missing_key" && (await this.caughtUp(item.seq))) outcome = await this.engine.decrypt(decryptAs, ev);
    // Still missing: the key may sit in the device's inbox on the homeserver (sent while the bridge was down).
    if (outcome.kind === "missing_key" && (await this.fetchedInbox(decryptAs))) outcome = await this.engine.decrypt(decryptAs, ev);
    switch (outcome.kind) {
      case "decrypted":
        await this.waiting.remove(ev.room_id, ev.event_id);
        return outcome.event;
      case "missing_key": {
        const firstSeen = await this.waiting.firstSeen(ev.room_id, ev.event_id);
        if (firstSeen !== undefined && Date.now() - firstSeen > this.maxKeyWaitMs) {
          await this.giveUp({ roomId: ev.room_id, eventId: ev.event_id, sessionId: outcome.sessionId, decryptAs, payload: ev, firstSeenAt: firstSeen, position: 0, releasedAt: null }, "its key never reached the bridge");
          return undefined;
        }
        await this.waiting.park({ roomId: ev.room_id, eventId: ev.event_id, sessionId: outcome.sessionId, decryptAs, payload: ev });
        this.opts.log.info({ room: ev.room_id, event: ev.event_id }, "encrypted event waits for its room key");
        return undefined;
      }
      case "withheld":
        await this.tell(decryptAs, ev.room_id, ev.event_id, `the sender's device did not share the key with the bridge (${outcome.reason})`);
        await this.waiting.remove(ev.room_id, ev.event_id);
        return undefined;
      case "failed":
        await this.tell(decryptAs, ev.room_id, ev.event_id, outcome.reason);
        await this.waiting.remove(ev.room_id, ev.event_id);
        return undefined;
    }
  }

  /** Waits (bounded) until no crypto item older than `seq` is queued. Returns whether anything was waited for. */
  private async caughtUp(seq: number): Promise<boolean> {
    if (!await this.waiting.cryptoItemsBefore(seq, CRYPTO_QUEUE_KEY)) return false;
    const deadline = Date.now() + this.catchUpMs;
    while (await this.waiting.cryptoItemsBefore(seq, CRYPTO_QUEUE_KEY) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    return true;
  }

  /**
   * Reads the device's to-device inbox on the homeserver, at most every few seconds per device (a burst of events
   * without keys costs one read). Returns whether anything new was fed to the engine.
   */
  private async fetchedInbox(userId: string): Promise<boolean> {
    const last = this.inboxReads.get(userId);
    if (last !== undefined && Date.now() - last < 3_000) return false;
    this.inboxReads.set(userId, Date.now());
    try {
      return (await this.engine.catchUpToDevice(userId)) > 0;
    } catch (err) {
      this.opts.log.warn({ err, user: redactDigits(userId) }, "could not read the device's to-device inbox");
      return false;
    }
  }

  /** Room keys arrived: parked events of those sessions go back into the inbound queue, still encrypted. */
  private async keysArrived(roomId: string, sessionIds: string[]): Promise<void> {
    let requeued = 0;
    for (const sessionId of sessionIds) {
      for (const w of await this.waiting.forSession(roomId, sessionId)) {
        await this.requeue(w);
        requeued++;
      }
    }
    if (requeued > 0) {
      this.opts.log.info({ room: roomId, events: requeued }, "room keys arrived for waiting events");
      this.opts.kickInbound();
    }
  }

  private async requeue(w: WaitingEvent): Promise<void> {
    const { store } = this.opts;
    // Past the intake's duplicate check (the event was received before); it stays parked, keeping its first-seen
    // time, until it is decrypted.
    await store.appservice.requeue({ kind: "event", roomId: w.roomId, payload: w.payload });
  }

  /** Tries parked events again (keys that came while a machine was closed) and gives up on those waiting too long. */
  async sweep(now = Date.now()): Promise<void> {
    let requeued = 0;
    const waiting = await this.waiting.all();
    for (const userId of new Set(waiting.filter((w) => w.sessionId !== BEHIND).map((w) => w.decryptAs))) await this.fetchedInbox(userId);
    for (const roomId of new Set(waiting.filter((w) => w.sessionId === BEHIND).map((w) => w.roomId))) await this.releaseNext(roomId);
    for (const w of waiting) {
      if (w.sessionId === BEHIND) continue; // waits for its turn, not for a key
      if (now - w.firstSeenAt > this.maxKeyWaitMs) {
        await this.giveUp(w, "its key never reached the bridge");
        continue;
      }
      // Parked by readEvent: a room event as the inbound queue held it.
      const outcome = await this.engine.decrypt(w.decryptAs, w.payload as MatrixEvent);
      if (outcome.kind !== "missing_key") {
        await this.requeue(w);
        requeued++;
      }
    }
    if (requeued > 0) this.opts.kickInbound();
  }

  private async giveUp(w: WaitingEvent, why: string): Promise<void> {
    this.opts.log.warn({ room: w.roomId, event: w.eventId }, "giving up on an encrypted event: its room key never arrived");
    await this.tell(w.decryptAs, w.roomId, w.eventId, why);
    await this.waiting.remove(w.roomId, w.eventId);
    await this.releaseNext(w.roomId);
  }

  /** Tells the sender (as a reply to their message, so clients show which one) that it was not delivered. */
  private async tell(asUser: string, roomId: string, eventId: string, why: string): Promise<void> {
    const body = `⚠ One of your messages could not be decrypted by the bridge, so it was not delivered: ${why}. (Event ${eventId}.)`;
    try {
      await this.opts.notice(asUser, roomId, { msgtype: "m.notice", body, "m.relates_to": { "m.in_reply_to": { event_id: eventId } } }, `utd-${eventId}`);
    } catch (err) {
      // E.g. a room no bridge user can post in: the event is still given up on rather than retried forever.
      this.opts.log.warn({ err, room: roomId, event: eventId }, "could not tell the sender about an undecryptable message");
    }
  }

  private async deviceForEncryptedRoom(roomId: string): Promise<void> {
    const user = await this.decryptorFor(roomId);
    try {
      await this.engine.ensureDevice(user);
    } catch (err) {
      // The next encrypted send or decrypt as this user tries again; the event itself still reaches the core.
      this.opts.log.warn({ err, room: roomId, user }, "could not set up the crypto device for a room that turned encrypted");
    }
  }

  /** The bridge user whose device should hold the room's keys: the portal's puppet, otherwise the bot. */
  private async decryptorFor(roomId: string): Promise<string> {
    const portal = await this.opts.store.portals.byRoom(roomId);
    if (portal) {
      const uri = parseUri(portal.remoteUri);
      if (uri.kind === "tel") return puppetUserId(this.opts.config, uri.e164);
    }
    return this.botUserId;
  }

  private get botUserId(): string {
    return botUserId(this.opts.config);
  }

  private isBridgeUser(userId: string): boolean {
    return userId === this.botUserId || isPuppetUserId(this.opts.config, userId) !== null;
  }

  // ------------------------------------------------------------------------------------------------ outbound

  ensureDevice(userId: string): Promise<string> {
    return this.engine.ensureDevice(userId);
  }

  async seal(asUser: string, roomId: string, type: string, content: Record<string, unknown>): Promise<{ type: string; content: Record<string, unknown>; deviceId: string } | null> {
    if (!(await this.engine.isEncrypted(roomId, asUser))) return null;
    const deviceId = await this.engine.ensureDevice(asUser);
    return { type: "m.room.encrypted", content: await this.engine.encrypt(asUser, roomId, type, content), deviceId };
  }

  /**
   * Names, once per room and device, the devices that get no room keys (share_keys_with: cross_signed). The notice
   * is itself encrypted by the same path, which calls here again: `telling` keeps that from posting it twice, and
   * the store records it only once it was posted.
   */
  async tellExcluded(asUser: string, roomId: string, devices: ExcludedDevice[]): Promise<void> {
    const key = (d: { userId: string; deviceId: string }) => `${roomId}\u0000${d.userId}\u0000${d.deviceId}`;
    const candidates = devices.filter((d) => !this.telling.has(key(d)) && !this.isBridgeUser(d.userId));
    const fresh = (await this.opts.store.excludedDevices.untold(roomId, candidates)).map((d) => candidates.find((x) => key(x) === key(d))!);
    if (fresh.length === 0) return;
    for (const d of fresh) this.telling.add(key(d));
    try {
      const owner = (await this.opts.store.portals.byRoom(roomId))?.matrixUser;
      const names = fresh.map((d) => `${d.displayName ? `"${d.displayName.slice(0, 64)}" ` : ""}(${d.deviceId}${d.userId === owner ? "" : ` of ${d.userId}`})`);
      const body =
        `🔐 ${fresh.length === 1 ? `The device ${names[0]} gets` : `The devices ${names.join(", ")} get`} no keys for the messages bridged into this chat, so ` +
        `${fresh.length === 1 ? "it cannot read them" : "they cannot read them"}: this bridge shares keys only with devices their owner has verified (cross-signed). ` +
        `Verify ${fresh.length === 1 ? "it" : "them"} from another device, and the next messages can be read there.`;
      await this.opts.notice(asUser, roomId, { msgtype: "m.notice", body }, `keyexcl-${fresh.map((d) => d.deviceId).join("-").slice(0, 200)}`);
      await this.opts.store.excludedDevices.told(roomId, fresh);
      this.opts.log.info({ room: roomId, devices: fresh.length }, "room keys withheld from devices their owner did not cross-sign; the room was told");
    } catch (err) {
      this.opts.log.warn({ err, room: roomId }, "could not tell the room which devices get no room keys; trying again on the next message");
    } finally {
      for (const d of fresh) this.telling.delete(key(d));
    }
  }

  roomChanged(roomId: string): void {
    this.engine.forgetRoom(roomId);
  }

  async joined(asUser: string, roomId: string): Promise<void> {
    // The room's state is read (and cached) here; sending into the room needs it anyway.
    if (await this.engine.isEncrypted(roomId, asUser)) await this.engine.ensureDevice(asUser);
  }
}
