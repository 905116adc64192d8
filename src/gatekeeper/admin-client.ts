// Typed client of the gatekeeper's admin API (used by the CLI and by tests through process.ts). The admin API has
// its own loopback listener (`adminUrl` of a running gatekeeper, `<data-dir>/admin-url`), not the interop port.
import { isLoopbackHost } from "./loopback.js";
import type { DeviceRef } from "./keys.js";
import type { DirectoryUser } from "./directory.js";
import type { Provider } from "./providers.js";
import type { SendRequest } from "./sim/compose.js";
import type { SendMedia } from "./sim/media.js";
import type { DiscardedEnvelope } from "./sim/discarded.js";
import type { ReceivedMedia, ReceivedMessage } from "./sim/received.js";
import type { DeliveryRefusal } from "./refusals.js";
import type { StoredReport } from "./reports.js";

export type { DeviceRef, DirectoryUser, Provider, ReceivedMedia, ReceivedMessage, SendMedia, SendRequest, StoredReport };

/** A received file, decrypted and verified by the gatekeeper. */
export interface DownloadedMedia {
  bytes: Uint8Array;
  contentType: string;
  fileName?: string;
}

export interface ProviderStatus extends Provider {
  connected: boolean;
  queued: number;
  /** PrekeysLow and DevicesChanged notices the provider has not read yet. */
  notices: number;
}

export interface AddUserRequest {
  phone: string;
  name: string;
  avatar?: string;
  devices?: number;
  optedIn?: boolean;
  allowedProviders?: string[];
  sendReceipts?: boolean;
}

/** An error answer of the admin API, with its errcode. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    /** RATE_LIMITED: when to try again. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "AdminApiError";
  }
}

const enc = encodeURIComponent;

export class GatekeeperAdminClient {
  readonly baseUrl: string;

  /** `baseUrl`: the admin listener, e.g. http://127.0.0.1:29401. Only loopback URLs: the admin API answers nothing
   * else, and the token must not travel anywhere else. */
  constructor(
    baseUrl: string,
    private readonly token: string,
  ) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new Error(`admin URL ${JSON.stringify(baseUrl)} is not a URL`);
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    if (url.protocol !== "http:" || !isLoopbackHost(host)) throw new Error(`admin URL ${baseUrl} must be http:// on a loopback address (the admin API listens on loopback only)`);
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  }

  addProvider(p: { id: string; publicKey: string; domains: string[] }): Promise<Provider> {
    return this.call("POST", "/admin/providers", p);
  }

  providers(): Promise<ProviderStatus[]> {
    return this.call("GET", "/admin/providers");
  }

  addUser(u: AddUserRequest): Promise<DirectoryUser> {
    return this.call("POST", "/admin/users", u);
  }

  users(): Promise<DirectoryUser[]> {
    return this.call("GET", "/admin/users");
  }

  user(phone: string): Promise<DirectoryUser> {
    return this.call("GET", `/admin/users/${enc(phone)}`);
  }

  addDevice(phone: string): Promise<DeviceRef> {
    return this.call("POST", `/admin/users/${enc(phone)}/devices`);
  }

  removeDevice(phone: string, deviceId: number): Promise<void> {
    return this.call("DELETE", `/admin/users/${enc(phone)}/devices/${deviceId}`);
  }

  resetIdentity(phone: string, deviceId: number): Promise<DeviceRef> {
    return this.call("POST", `/admin/users/${enc(phone)}/devices/${deviceId}/reset-identity`);
  }

  /** Opting in without a list allows every provider; opting out keeps the list for a later opt-in. */
  setOptIn(phone: string, optedIn: boolean, allowedProviders?: string[]): Promise<DirectoryUser> {
    const list = allowedProviders ?? (optedIn ? [] : undefined);
    return this.call("PUT", `/admin/users/${enc(phone)}/opt-in`, list ? { optedIn, allowedProviders: list } : { optedIn });
  }

  /** The simulated user changes their name and/or picture (a media ID from the media service; null removes it). */
  setProfile(phone: string, profile: { name?: string; avatar?: string | null }): Promise<DirectoryUser> {
    return this.call("PUT", `/admin/users/${enc(phone)}/profile`, profile);
  }

  setSendReceipts(phone: string, sendReceipts: boolean): Promise<DirectoryUser> {
    return this.call("PUT", `/admin/users/${enc(phone)}/receipts`, { sendReceipts });
  }

  block(phone: string, uri: string): Promise<DirectoryUser> {
    return this.call("POST", `/admin/users/${enc(phone)}/blocks`, { uri });
  }

  unblock(phone: string, uri: string): Promise<DirectoryUser> {
    return this.call("DELETE", `/admin/users/${enc(phone)}/blocks/${enc(uri)}`);
  }

  /** Whom a provider's user (a matrix: URI) has blocked through the interop API. */
  providerUserBlocks(uri: string): Promise<{ user: string; blocked: string[] }> {
    return this.call("GET", `/admin/blocks/${enc(uri)}`);
  }

  /** Reports by provider users: all of them, or those about one simulated user. */
  reports(opts: { phone?: string; after?: number } = {}): Promise<StoredReport[]> {
    const after = opts.after ?? 0;
    return this.call("GET", opts.phone === undefined ? `/admin/reports?after=${after}` : `/admin/users/${enc(opts.phone)}/reports?after=${after}`);
  }

  suspend(phone: string, reason?: string): Promise<DirectoryUser> {
    return this.call("PUT", `/admin/users/${enc(phone)}/suspension`, reason === undefined ? {} : { reason });
  }

  unsuspend(phone: string): Promise<DirectoryUser> {
    return this.call("DELETE", `/admin/users/${enc(phone)}/suspension`);
  }

  /** Sends as the simulated user; returns the message id (32 hex digits) and, for media, the stored file's id. */
  send(phone: string, req: SendRequest): Promise<{ id: string; mediaId?: string }> {
    return this.call("POST", `/admin/users/${enc(phone)}/send`, req);
  }

  /** The decrypted file of a media message the user received; fails (422) if it does not verify. */
  async media(phone: string, messageId: string): Promise<DownloadedMedia> {
    const res = await fetch(`${this.baseUrl}/admin/users/${enc(phone)}/media/${enc(messageId)}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!res.ok) throw await errorOf(res);
    const disposition = /filename\*=UTF-8''([^;]+)/.exec(res.headers.get("content-disposition") ?? "")?.[1];
    return {
      bytes: new Uint8Array(await res.arrayBuffer()),
      contentType: res.headers.get("content-type") ?? "application/octet-stream",
      ...(disposition ? { fileName: decodeURIComponent(disposition) } : {}),
    };
  }

  /** Test hook: flips one byte of a stored file (the middle one unless `offset` is given). */
  tamperMedia(mediaId: string, offset?: number): Promise<{ id: string; offset: number }> {
    return this.call("POST", `/admin/media/${enc(mediaId)}/tamper`, offset === undefined ? {} : { offset });
  }

  received(phone: string, after = 0): Promise<ReceivedMessage[]> {
    return this.call("GET", `/admin/users/${enc(phone)}/messages?after=${after}`);
  }

  /** Envelopes the simulated devices threw away (all users, or `phone`'s): undecryptable, reused counters, redeliveries. */
  discarded(phone?: string, after = 0): Promise<DiscardedEnvelope[]> {
    return this.call("GET", phone === undefined ? `/admin/discarded?after=${after}` : `/admin/users/${enc(phone)}/discarded?after=${after}`);
  }

  /** The user's messages that a provider refused to deliver. */
  refusals(phone: string, after = 0): Promise<DeliveryRefusal[]> {
    return this.call("GET", `/admin/users/${enc(phone)}/refusals?after=${after}`);
  }

  /** Streams what the user receives (server-sent events) until `signal` aborts. */
  async watch(phone: string, onMessage: (m: ReceivedMessage) => void, signal: AbortSignal, after = 0): Promise<void> {
    const res = await fetch(`${this.baseUrl}/admin/users/${enc(phone)}/watch?after=${after}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: "text/event-stream" },
      signal,
    });
    if (!res.ok || !res.body) throw await errorOf(res);
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (data) onMessage(JSON.parse(data) as ReceivedMessage);
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw await errorOf(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

async function errorOf(res: Response): Promise<AdminApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { errcode?: string; error?: string; retry_after_ms?: number };
    return new AdminApiError(res.status, body.errcode ?? "UNKNOWN", body.error ?? text, typeof body.retry_after_ms === "number" ? body.retry_after_ms : undefined);
  } catch {
    return new AdminApiError(res.status, "UNKNOWN", text || res.statusText);
  }
}
