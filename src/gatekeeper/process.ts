// Runs a real `dma-gatekeeper serve` as a child process and drives it through the admin API: the reference
// gatekeeper as a component for whoever needs one running (the demo, the benchmarks, the tests). Nothing here reaches
// into the server's memory.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AdminApiError,
  GatekeeperAdminClient,
  type AddUserRequest,
  type DeviceRef,
  type DirectoryUser,
  type DownloadedMedia,
  type Provider,
  type ReceivedMedia,
  type ReceivedMessage,
  type SendMedia,
  type SendRequest,
  type StoredReport,
} from "./admin-client.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "./admin-token.js";
import type { DeliveryRefusal } from "./refusals.js";
import { isLoss, type DiscardedEnvelope } from "./sim/discarded.js";

export { AdminApiError, GatekeeperAdminClient };
export type { AddUserRequest, DeviceRef, DirectoryUser, DownloadedMedia, Provider, ReceivedMedia, ReceivedMessage, SendMedia, SendRequest, StoredReport };

/** A file for a simulated user to send: SendMedia with the bytes as bytes. */
export type MediaToSend = Omit<SendMedia, "data" | "thumbnail"> & { data: Uint8Array; thumbnail?: Uint8Array };

export interface GatekeeperProcessOptions {
  /** Data directory to use (kept on stop); a fresh temporary one (removed on stop) when absent. */
  dataDir?: string;
  port?: number;
  mediaMaxBytes?: number;
  rateLimit?: { burst: number; perSecond: number };
  prekeyLow?: number;
  /** Connections the admin API takes at once (its default is 64); every watched user holds one. */
  adminMaxConnections?: number;
  /** Flood limits per sender (0 turns one off); the gatekeeper's defaults when absent. */
  senderLimits?: { messagesPerMinute?: number; newChatsPerHour?: number };
  /** Suspend a simulated user once this many distinct provider users reported it (default never). */
  suspendAfterReports?: number;
  logLevel?: "trace" | "debug" | "info" | "warn" | "error";
  /** The base URL providers reach it at, when that is not where it listens (a proxy in front): the token audience. */
  publicUrl?: string;
  /** Milliseconds to wait for the listening line (default 30 s). */
  startTimeoutMs?: number;
}

const CLI = fileURLToPath(new URL("./cli.js", import.meta.url));
const LISTENING = /^dma-gatekeeper listening on (http:\/\/\S+) \(admin API on (http:\/\/\S+)\)$/m;
const STDERR_TAIL = 64 * 1024;

export class GatekeeperProcess {
  private child: ChildProcess | undefined;
  private stderr = "";
  private exited: Promise<number | null> = Promise.resolve(null);
  private _url = "";
  private _adminUrl = "";
  private _admin: GatekeeperAdminClient | undefined;

  private constructor(
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    private readonly options: GatekeeperProcessOptions,
  ) {}

  static async start(options: GatekeeperProcessOptions = {}): Promise<GatekeeperProcess> {
    const own = options.dataDir === undefined;
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "dma-gatekeeper-"));
    const gk = new GatekeeperProcess(dataDir, own, options);
    try {
      await gk.spawn(options.port ?? 0, 0);
    } catch (err) {
      if (own) rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
    return gk;
  }

  /** Base URL of the running server's interop endpoint, e.g. http://127.0.0.1:40123 (also the token audience). */
  get url(): string {
    return this._url;
  }

  /** Base URL of its admin API (a separate loopback port), e.g. http://127.0.0.1:40124. */
  get adminUrl(): string {
    return this._adminUrl;
  }

  /** The admin API's bearer token (from <dataDir>/admin-token). */
  get adminToken(): string {
    return readAdminToken(join(this.dataDir, ADMIN_TOKEN_FILE));
  }

  get admin(): GatekeeperAdminClient {
    if (!this._admin) throw new Error("gatekeeper is not running");
    return this._admin;
  }

  /** What the server logged on stderr so far (the last 64 KiB), for failure messages. */
  get logs(): string {
    return this.stderr;
  }

  /** Stops and starts the server on the same data directory (the ports may change; see `url` and `adminUrl`). */
  async restart(options: { samePort?: boolean } = {}): Promise<void> {
    const port = options.samePort ? Number(new URL(this._url).port) : 0;
    const adminPort = options.samePort ? Number(new URL(this._adminUrl).port) : 0;
    await this.kill();
    await this.spawn(port, adminPort);
  }

  /** Stops the server (SIGTERM, then SIGKILL after 10 s) and removes a temporary data directory. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Kills the server without a graceful shutdown, as a crash would. */
  async crash(): Promise<void> {
    await this.kill("SIGKILL");
  }

  // ---- admin shortcuts ------------------------------------------------------------------------------------------

  addProvider(id: string, publicKey: string, domains: string[]): Promise<Provider> {
    return this.admin.addProvider({ id, publicKey, domains });
  }

  addUser(phone: string, name: string, options: Omit<AddUserRequest, "phone" | "name"> = {}): Promise<DirectoryUser> {
    return this.admin.addUser({ phone, name, ...options });
  }

  user(phone: string): Promise<DirectoryUser> {
    return this.admin.user(phone);
  }

  /** Sends as a simulated user; returns the message id (32 hex digits). */
  async sendAs(phone: string, req: SendRequest): Promise<string> {
    return (await this.admin.send(phone, req)).id;
  }

  /** Sends a file as a simulated user (encrypted and stored on the gatekeeper's media service first). */
  async sendMediaAs(phone: string, to: string, media: MediaToSend, options: { replyTo?: string; device?: number } = {}): Promise<{ id: string; mediaId: string }> {
    const { data, thumbnail, ...rest } = media;
    const req: SendRequest = {
      to,
      media: { ...rest, data: Buffer.from(data).toString("base64"), ...(thumbnail ? { thumbnail: Buffer.from(thumbnail).toString("base64") } : {}) },
      ...options,
    };
    const answer = await this.admin.send(phone, req);
    return { id: answer.id, mediaId: answer.mediaId! };
  }

  /** The decrypted file of a media message the user received (fails if it does not verify). */
  receivedMedia(phone: string, messageId: string): Promise<DownloadedMedia> {
    return this.admin.media(phone, messageId);
  }

  /** Test hook: corrupts a stored file by flipping one byte. */
  tamperMedia(mediaId: string, offset?: number): Promise<{ id: string; offset: number }> {
    return this.admin.tamperMedia(mediaId, offset);
  }

  received(phone: string, after = 0): Promise<ReceivedMessage[]> {
    return this.admin.received(phone, after);
  }

  refusals(phone: string, after = 0): Promise<DeliveryRefusal[]> {
    return this.admin.refusals(phone, after);
  }

  /** What the simulated devices threw away (see sim/discarded.ts); `isLoss` tells losses from redeliveries. */
  discarded(phone?: string, after = 0): Promise<DiscardedEnvelope[]> {
    return this.admin.discarded(phone, after);
  }

  /** Throws, listing them, when a simulated device threw away a message its user will never see. */
  async assertNothingDiscarded(): Promise<void> {
    const lost = (await this.admin.discarded()).filter(isLoss);
    if (lost.length > 0) {
      const lines = lost.slice(0, 20).map((d) => `${d.e164} device ${d.deviceId}: ${d.reason} for ${d.messageId || "?"} from ${d.sender} device ${d.senderDevice}: ${d.detail}`);
      throw new Error(`simulated devices silently discarded ${lost.length} envelope(s):\n${lines.join("\n")}`);
    }
  }

  /** Polls the user's received messages until one matches; throws with what did arrive after `timeoutMs`. */
  async waitForMessage(phone: string, predicate: (m: ReceivedMessage) => boolean, timeoutMs = 10_000): Promise<ReceivedMessage> {
    const deadline = Date.now() + timeoutMs;
    let seen: ReceivedMessage[] = [];
    for (;;) {
      seen = await this.admin.received(phone);
      const hit = seen.find(predicate);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`no matching message for ${phone} within ${timeoutMs} ms; received: ${JSON.stringify(seen.map((m) => ({ device: m.deviceId, from: m.sender, content: m.content })))}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  block(phone: string, uri: string): Promise<DirectoryUser> {
    return this.admin.block(phone, uri);
  }

  unblock(phone: string, uri: string): Promise<DirectoryUser> {
    return this.admin.unblock(phone, uri);
  }

  /** Whom a provider's user has blocked through the interop API (the gatekeeper's view). */
  providerUserBlocks(uri: string): Promise<{ user: string; blocked: string[] }> {
    return this.admin.providerUserBlocks(uri);
  }

  reports(opts: { phone?: string; after?: number } = {}): Promise<StoredReport[]> {
    return this.admin.reports(opts);
  }

  suspend(phone: string, reason?: string): Promise<DirectoryUser> {
    return this.admin.suspend(phone, reason);
  }

  unsuspend(phone: string): Promise<DirectoryUser> {
    return this.admin.unsuspend(phone);
  }

  optIn(phone: string, allowedProviders?: string[]): Promise<DirectoryUser> {
    return this.admin.setOptIn(phone, true, allowedProviders);
  }

  optOut(phone: string): Promise<DirectoryUser> {
    return this.admin.setOptIn(phone, false);
  }

  resetIdentity(phone: string, deviceId = 1): Promise<DeviceRef> {
    return this.admin.resetIdentity(phone, deviceId);
  }

  addDevice(phone: string): Promise<DeviceRef> {
    return this.admin.addDevice(phone);
  }

  removeDevice(phone: string, deviceId: number): Promise<void> {
    return this.admin.removeDevice(phone, deviceId);
  }

  // ---- process --------------------------------------------------------------------------------------------------

  private async spawn(port: number, adminPort: number): Promise<void> {
    const o = this.options;
    const args = [CLI, "serve", "--port", String(port), "--admin-port", String(adminPort), "--host", "127.0.0.1", "--data-dir", this.dataDir, "--log-format", "json", "--log-level", o.logLevel ?? "info"];
    if (o.mediaMaxBytes !== undefined) args.push("--media-max-bytes", String(o.mediaMaxBytes));
    if (o.rateLimit) args.push("--rate-burst", String(o.rateLimit.burst), "--rate-per-second", String(o.rateLimit.perSecond));
    if (o.prekeyLow !== undefined) args.push("--prekey-low", String(o.prekeyLow));
    if (o.adminMaxConnections !== undefined) args.push("--admin-max-connections", String(o.adminMaxConnections));
    if (o.senderLimits?.messagesPerMinute !== undefined) args.push("--sender-messages-per-minute", String(o.senderLimits.messagesPerMinute));
    if (o.senderLimits?.newChatsPerHour !== undefined) args.push("--sender-new-chats-per-hour", String(o.senderLimits.newChatsPerHour));
    if (o.suspendAfterReports !== undefined) args.push("--suspend-after-reports", String(o.suspendAfterReports));
    if (o.publicUrl !== undefined) args.push("--public-url", o.publicUrl);
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL);
    });
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    const [url, adminUrl] = await new Promise<[string, string]>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`dma-gatekeeper did not start within ${o.startTimeoutMs ?? 30_000} ms:\n${this.stderr}`)), o.startTimeoutMs ?? 30_000);
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        const m = LISTENING.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve([m[1]!, m[2]!]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`dma-gatekeeper exited with ${code} before listening:\n${this.stderr}`));
      });
    }).catch(async (err: unknown) => {
      await this.kill("SIGKILL");
      throw err;
    });
    this._url = url;
    this._adminUrl = adminUrl;
    this._admin = new GatekeeperAdminClient(adminUrl, readAdminToken(join(this.dataDir, ADMIN_TOKEN_FILE)));
  }

  private async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    this._admin = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}
