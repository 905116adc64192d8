// The gatekeeper's state and operations, independent of HTTP: the server and the admin API call into this.
import type { Logger } from "pino";
import type { DevicePreKeyBundle, PreKeyBundleResponse, PreKeyCountResponse } from "../protocol/signal/bundle.js";
import { TokenVerifier, type Principal } from "./auth.js";
import { openGatekeeperDb, type Db } from "./db.js";
import { Directory, type DirectoryUser } from "./directory.js";
import { HttpError } from "./http-error.js";
import { KeyStore, parseKeysUpload, type DeviceRef, type PrekeyLevel } from "./keys.js";
import { MediaStore } from "./media.js";
import { ProviderHub } from "./provider-hub.js";
import { ProviderQueue } from "./provider-queue.js";
import { ProviderRegistry } from "./providers.js";
import { TokenBuckets, type RateLimitConfig } from "./rate-limit.js";
import { SendChecker } from "./send-checks.js";
import { UsedTokenIds } from "./token-ids.js";
import { SimDevices } from "./sim/devices.js";
import { SimInbox } from "./sim/inbox.js";
import { SimNetwork } from "./sim/network.js";
import { ProviderNotices } from "./provider-notices.js";
import { DiscardedStore } from "./sim/discarded.js";
import { ReceivedStore } from "./sim/received.js";
import { SimPolls } from "./sim/polls.js";
import { DeliveryRefusals } from "./refusals.js";
import { matrixUserDomain, telUriE164, telUriOf } from "./uris.js";
import { ProviderUserBlocks } from "./user-blocks.js";
import { ReportStore } from "./reports.js";
import { DEFAULT_SENDER_LIMITS, SenderLimits, type SenderLimitConfig } from "./sender-limits.js";
import { ErrorCode } from "../protocol/gen/interop_pb.js";
import { isProtocolError } from "../protocol/errors.js";
import { reportFromJson } from "../protocol/safety.js";
import { parseUri } from "../protocol/uri.js";
import { redactUri } from "../log.js";
import { decodeEnvelope } from "./wire.js";

export interface GatekeeperOptions {
  dataDir: string;
  log: Logger;
  /** Largest media upload in bytes (default 100 MiB). */
  mediaMaxBytes?: number;
  /** PrekeysLow is pushed when a provider user's device holds fewer one-time prekeys than this (default 10). */
  prekeyLowThreshold?: number;
  /** Sends per provider (default burst 200, 100 per second). */
  rateLimit?: RateLimitConfig;
  /** Flood limits per sender (default 300 messages a minute, 50 new chats an hour; 0 turns one off). */
  senderLimits?: SenderLimitConfig;
  /** Suspend a simulated user once this many distinct provider users reported it (0, the default: never). */
  suspendAfterReports?: number;
}

export interface NewUserInput {
  e164: string;
  name: string;
  avatar?: string;
  devices?: number;
  optedIn?: boolean;
  allowedProviders?: string[];
  sendReceipts?: boolean;
}

export interface DirectoryEntry {
  uri: string;
  devices: DeviceRef[];
  profile: { name: string; avatar?: string };
}

export const DEFAULT_MEDIA_MAX_BYTES = 100 * 1024 * 1024;
const MAX_DEVICES_PER_USER = 16;

export class Gatekeeper {
  readonly db: Db;
  readonly log: Logger;
  readonly providers: ProviderRegistry;
  readonly keys: KeyStore;
  readonly directory: Directory;
  readonly queue: ProviderQueue;
  readonly hub: ProviderHub;
  readonly notices: ProviderNotices;
  readonly inbox: SimInbox;
  readonly received: ReceivedStore;
  readonly discarded: DiscardedStore;
  readonly refusals: DeliveryRefusals;
  readonly media: MediaStore;
  readonly simDevices: SimDevices;
  readonly sim: SimNetwork;
  readonly tokens: TokenVerifier;
  readonly checker: SendChecker;
  readonly userBlocks: ProviderUserBlocks;
  readonly reports: ReportStore;
  readonly senderLimits: SenderLimits;
  private readonly prekeyLowThreshold: number;
  private readonly suspendAfterReports: number;
  /** Background refills still running; close() waits for them before closing the database. */
  private readonly background = new Set<Promise<void>>();
  /** Simulated devices with a refill in flight: one at a time is enough. */
  private readonly refilling = new Set<string>();

  constructor(options: GatekeeperOptions) {
    this.log = options.log;
    this.db = openGatekeeperDb(options.dataDir);
    this.providers = new ProviderRegistry(this.db);
    this.keys = new KeyStore(this.db);
    this.directory = new Directory(this.db, this.keys);
    this.queue = new ProviderQueue(this.db);
    this.notices = new ProviderNotices(this.db);
    this.hub = new ProviderHub(this.queue, this.notices, this.log);
    this.inbox = new SimInbox(this.db);
    this.received = new ReceivedStore(this.db);
    this.discarded = new DiscardedStore(this.db);
    this.refusals = new DeliveryRefusals(this.db);
    this.media = new MediaStore(this.db, options.dataDir, options.mediaMaxBytes ?? DEFAULT_MEDIA_MAX_BYTES);
    this.simDevices = new SimDevices(this.db, this.keys);
    this.tokens = new TokenVerifier(this.providers, new UsedTokenIds(this.db), this.log);
    this.userBlocks = new ProviderUserBlocks(this.db);
    this.reports = new ReportStore(this.db);
    this.senderLimits = new SenderLimits(this.db, options.senderLimits ?? DEFAULT_SENDER_LIMITS);
    this.checker = new SendChecker(this.directory, this.keys, new TokenBuckets(options.rateLimit ?? { burst: 200, perSecond: 100 }), this.senderLimits, (e) =>
      this.inbox.wasAccepted(e),
    );
    this.prekeyLowThreshold = options.prekeyLowThreshold ?? 10;
    this.suspendAfterReports = options.suspendAfterReports ?? 0;
    if (!Number.isInteger(this.suspendAfterReports) || this.suspendAfterReports < 0) throw new Error("suspendAfterReports must be a non-negative integer");
    this.sim = new SimNetwork({
      db: this.db,
      log: this.log,
      directory: this.directory,
      keys: this.keys,
      providers: this.providers,
      devices: this.simDevices,
      inbox: this.inbox,
      received: this.received,
      polls: new SimPolls(this.db),
      discarded: this.discarded,
      queue: this.queue,
      hub: this.hub,
      media: this.media,
      userBlocks: this.userBlocks,
      senderLimits: this.senderLimits,
      fetchBundles: (uri, deviceId) => this.takeBundles(uri, deviceId),
    });
  }

  /** Starts background work: envelopes accepted before a restart are processed now. */
  start(): void {
    this.sim.wake();
  }

  async close(): Promise<void> {
    this.hub.closeAll(1001, "gatekeeper shutting down");
    await this.sim.stop();
    await Promise.allSettled(this.background);
    this.db.close();
  }

  // ---- users ------------------------------------------------------------------------------------------------------

  async addUser(input: NewUserInput): Promise<DirectoryUser> {
    const count = input.devices ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_DEVICES_PER_USER) {
      throw new HttpError(400, "INVALID", `devices must be 1..${MAX_DEVICES_PER_USER}`);
    }
    const name = input.name.trim();
    if (name.length === 0 || name.length > 100) throw new HttpError(400, "INVALID", "name must be 1..100 characters");
    this.requireEnlisted(input.allowedProviders ?? []);
    this.directory.add({
      e164: input.e164,
      name,
      ...(input.avatar === undefined ? {} : { avatar: input.avatar }),
      optedIn: input.optedIn ?? true,
      allowedProviders: input.allowedProviders ?? [],
      sendReceipts: input.sendReceipts ?? true,
    });
    for (let i = 0; i < count; i++) await this.simDevices.create(input.e164, this.directory.allocateDeviceId(input.e164));
    return this.directory.require(input.e164);
  }

  /** Opt in or out; `allowedProviders` replaces the allow list when given (empty: every provider). */
  setOptIn(e164: string, optedIn: boolean, allowedProviders?: string[]): DirectoryUser {
    if (allowedProviders) this.requireEnlisted(allowedProviders);
    this.directory.setOptIn(e164, optedIn, allowedProviders);
    return this.directory.require(e164);
  }

  private requireEnlisted(providerIds: string[]): void {
    for (const p of providerIds) {
      if (!this.providers.get(p)) throw new HttpError(400, "INVALID", `allowed provider ${p} is not enlisted`);
    }
  }

  async addDevice(e164: string): Promise<DeviceRef> {
    const user = this.directory.require(e164);
    if (user.devices.length >= MAX_DEVICES_PER_USER) throw new HttpError(409, "CONFLICT", `${e164} already has ${MAX_DEVICES_PER_USER} devices`);
    const device = await this.simDevices.create(e164, this.directory.allocateDeviceId(e164));
    this.announceDevices(e164);
    return device;
  }

  async removeDevice(e164: string, deviceId: number): Promise<void> {
    const user = this.directory.require(e164);
    if (!user.devices.some((d) => d.deviceId === deviceId)) throw new HttpError(404, "NOT_FOUND", `${e164} has no device ${deviceId}`);
    if (user.devices.length === 1) throw new HttpError(409, "CONFLICT", `device ${deviceId} is the last device of ${e164}`);
    await this.simDevices.remove(e164, deviceId);
    this.inbox.dropDevice(e164, deviceId);
    this.announceDevices(e164);
  }

  /** Like reinstalling the app on that device: new identity key and registration id. */
  async resetIdentity(e164: string, deviceId: number): Promise<DeviceRef> {
    const user = this.directory.require(e164);
    if (!user.devices.some((d) => d.deviceId === deviceId)) throw new HttpError(404, "NOT_FOUND", `${e164} has no device ${deviceId}`);
    this.inbox.dropDevice(e164, deviceId);
    const device = await this.simDevices.reset(e164, deviceId);
    this.announceDevices(e164);
    return device;
  }

  /** Tells every provider that may reach the user its new device list: now if connected, else when it connects. */
  private announceDevices(e164: string): void {
    const uri = telUriOf(e164);
    const devices = this.keys.devices(uri).map((d) => d.deviceId);
    for (const p of this.providers.list()) {
      if (this.directory.mayReach(e164, p.id)) this.hub.notify(p.id, "devices_changed", uri, { kind: { case: "devicesChanged", value: { user: uri, devices } } });
    }
  }

  // ---- provider-facing services -------------------------------------------------------------------------------------

  directoryEntry(principal: Principal, uri: string): DirectoryEntry {
    const e164 = telUriE164(uri);
    if (e164 === undefined) throw new HttpError(404, "UNKNOWN_USER", `${uri} is not a tel: user of this gatekeeper`);
    this.requireReachable(e164, principal.providerId);
    const user = this.directory.require(e164);
    return { uri, devices: user.devices, profile: { name: user.name, ...(user.avatar === undefined ? {} : { avatar: user.avatar }) } };
  }

  /** Bundles for a provider: tel: users must accept the provider; matrix: users only for their own provider. */
  fetchKeys(principal: Principal, uri: string, deviceId?: number): PreKeyBundleResponse {
    const e164 = telUriE164(uri);
    if (e164 !== undefined) this.requireReachable(e164, principal.providerId);
    else this.requireOwnUser(principal, uri);
    const bundles = this.takeBundles(uri, deviceId);
    if (bundles.length === 0) {
      throw new HttpError(404, deviceId === undefined ? "UNKNOWN_USER" : "NOT_FOUND", deviceId === undefined ? `${uri} has no keys` : `${uri} has no device ${deviceId}`);
    }
    return { user: uri, devices: bundles };
  }

  uploadKeys(principal: Principal, uri: string, body: unknown): PreKeyCountResponse {
    if (principal.kind !== "user" || principal.userUri !== uri) {
      throw new HttpError(403, "FORBIDDEN", "uploading keys needs a user token whose sub is the URI in the path");
    }
    this.keys.upload(uri, parseKeysUpload(body));
    const counts = this.keys.counts(uri);
    // Stocked up again: a PrekeysLow still waiting for this user would only make the provider check for nothing.
    if (counts.devices.every((d) => Math.min(d.oneTimePreKeys, d.oneTimeKyberPreKeys) >= this.prekeyLowThreshold)) {
      this.notices.resolve(principal.providerId, "prekeys_low", uri);
    }
    return counts;
  }

  keyCounts(principal: Principal, uri: string): PreKeyCountResponse {
    this.requireOwnUser(principal, uri);
    return this.keys.counts(uri);
  }

  // ---- safety: blocks and reports by provider users ------------------------------------------------------------------

  blockList(principal: Principal, userUri: string): { user: string; blocked: string[] } {
    this.requireOwnUser(principal, userUri);
    if (principal.kind === "user" && principal.userUri !== userUri) throw new HttpError(403, "FORBIDDEN", "a user token may read only its own block list");
    return { user: userUri, blocked: this.userBlocks.list(userUri) };
  }

  /** The user blocks a remote user: from now on that sender's messages are refused (BLOCKED), and envelopes of it
   * still queued for the user are taken off the queue as refused, so the sender hears they were not delivered. */
  block(principal: Principal, userUri: string, blockedUri: string): { user: string; blocked: string[] } {
    this.requireUserToken(principal, userUri, "blocking");
    requireTel(blockedUri, "only tel: users can be blocked");
    const added = this.userBlocks.block(userUri, blockedUri);
    if (added) {
      const dropped = this.dropQueued(principal.providerId, userUri, blockedUri);
      this.log.info({ provider: principal.providerId, blocked: redactUri(blockedUri), dropped }, "a provider user blocked a remote user");
    }
    return { user: userUri, blocked: this.userBlocks.list(userUri) };
  }

  unblock(principal: Principal, userUri: string, blockedUri: string): { user: string; blocked: string[] } {
    this.requireUserToken(principal, userUri, "unblocking");
    requireTel(blockedUri, "only tel: users can be blocked");
    if (this.userBlocks.unblock(userUri, blockedUri)) this.log.info({ provider: principal.providerId, unblocked: redactUri(blockedUri) }, "a provider user unblocked a remote user");
    return { user: userUri, blocked: this.userBlocks.list(userUri) };
  }

  /** Records a report; suspends the reported user once enough distinct users reported it (if configured). */
  report(principal: Principal, body: unknown): { id: string } {
    let report;
    try {
      report = reportFromJson(body);
    } catch (err) {
      if (isProtocolError(err)) throw new HttpError(400, "INVALID", `report: ${err.message}`);
      throw err;
    }
    this.requireUserToken(principal, report.reporter, "reporting");
    const e164 = telUriE164(report.reported);
    if (e164 === undefined || !this.directory.exists(e164)) throw new HttpError(404, "UNKNOWN_USER", `no user ${report.reported}`);
    const { id, reporters } = this.reports.add(principal.providerId, report);
    this.log.info({ provider: principal.providerId, report: id, reported: redactUri(report.reported), reporters }, "a provider user reported a remote user");
    if (this.suspendAfterReports > 0 && reporters >= this.suspendAfterReports && this.directory.suspend(e164, `reported by ${reporters} users`)) {
      this.log.warn({ reported: redactUri(report.reported), reporters }, "suspended a user after reports");
    }
    return { id };
  }

  private dropQueued(providerId: string, recipient: string, sender: string): number {
    return this.db.transaction(() => {
      const dropped = this.queue.dropWhere(providerId, recipient, (bytes) => decodeEnvelope(bytes).sender === sender);
      for (const bytes of dropped) this.refusals.record(providerId, decodeEnvelope(bytes), ErrorCode.BLOCKED, "the recipient blocked the sender");
      return dropped.length;
    })();
  }

  private requireUserToken(principal: Principal, userUri: string, what: string): void {
    if (principal.kind !== "user" || principal.userUri !== userUri) {
      throw new HttpError(403, "FORBIDDEN", `${what} needs a user token whose sub is ${principal.kind === "user" ? "the user in question" : "the user, not the provider"}`);
    }
  }

  /** A provider (re)connected: tell it about users that ran low while it was away. */
  providerConnected(providerId: string): void {
    const provider = this.providers.get(providerId);
    if (!provider) return;
    const rows = this.db
      .prepare(
        `SELECT d.uri, min(
           (SELECT count(*) FROM one_time_prekeys p WHERE p.uri = d.uri AND p.device_id = d.device_id),
           (SELECT count(*) FROM one_time_kyber_prekeys k WHERE k.uri = d.uri AND k.device_id = d.device_id)) AS remaining
         FROM key_devices d WHERE d.uri LIKE 'matrix:%'`,
      )
      .all() as { uri: string; remaining: number }[];
    const lowest = new Map<string, number>();
    for (const row of rows) {
      const domain = matrixUserDomain(row.uri);
      if (row.remaining >= this.prekeyLowThreshold || domain === undefined || !provider.domains.includes(domain)) continue;
      lowest.set(row.uri, Math.min(row.remaining, lowest.get(row.uri) ?? Infinity));
    }
    for (const [user, remaining] of lowest) this.hub.notify(providerId, "prekeys_low", user, { kind: { case: "prekeysLow", value: { user, remaining } } });
  }

  /** Hands out bundles (consuming one-time prekeys) and reacts to low stock: PrekeysLow for a provider's user, a
   * background refill for a simulated device. */
  private takeBundles(uri: string, deviceId?: number): DevicePreKeyBundle[] {
    const { bundles, levels } = this.keys.fetchBundles(uri, deviceId);
    for (const level of levels) this.onLevel(level);
    return bundles;
  }

  private onLevel(level: PrekeyLevel): void {
    const remaining = Math.min(level.oneTimePreKeys, level.oneTimeKyberPreKeys);
    if (remaining >= this.prekeyLowThreshold) return;
    const e164 = telUriE164(level.uri);
    if (e164 !== undefined) {
      const key = `${e164}#${level.deviceId}`;
      if (this.refilling.has(key)) return;
      this.refilling.add(key);
      const refill = this.simDevices
        .refill(e164, level.deviceId)
        .catch((err: unknown) => this.log.error({ err, device: level.deviceId }, "refilling a simulated device's prekeys failed"))
        .finally(() => {
          this.background.delete(refill);
          this.refilling.delete(key);
        });
      this.background.add(refill);
      return;
    }
    const domain = matrixUserDomain(level.uri);
    const providerId = domain === undefined ? undefined : this.providers.providerIdForDomain(domain);
    if (providerId) this.hub.notify(providerId, "prekeys_low", level.uri, { kind: { case: "prekeysLow", value: { user: level.uri, remaining } } });
  }

  private requireReachable(e164: string, providerId: string): void {
    const why = this.directory.reachability(e164, providerId);
    if (why === "UNKNOWN_USER") throw new HttpError(404, "UNKNOWN_USER", `no user tel:${e164}`);
    if (why === "NOT_OPTED_IN") throw new HttpError(403, "NOT_OPTED_IN", `tel:${e164} does not accept chats from this provider`);
  }

  private requireOwnUser(principal: Principal, uri: string): void {
    const domain = matrixUserDomain(uri);
    const provider = this.providers.get(principal.providerId);
    if (domain === undefined || !provider?.domains.includes(domain)) {
      throw new HttpError(403, "FORBIDDEN", `${uri} is not a user on this provider's domains`);
    }
  }
}

function requireTel(uri: string, message: string): void {
  if (parseUri(uri).kind !== "tel") throw new HttpError(400, "INVALID", message);
}
