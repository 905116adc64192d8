// The gatekeeper's HTTPS services as the bridge uses them: directory, key service, media. Every answer is
// validated before use, since it comes from another party.
import { z } from "zod";
import {
  type KeysUploadRequest,
  type PreKeyBundleResponse,
  preKeyBundleResponseSchema,
  type PreKeyCountResponse,
  preKeyCountResponseSchema,
} from "../protocol/signal/bundle.js";
import { GatekeeperHttpError } from "./errors.js";
import { redactDigits } from "../log.js";
import { isProtocolError } from "../protocol/errors.js";
import { blockListFromJson, reportReceiptFromJson, reportToJson, type BlockList, type ReportReason } from "../protocol/safety.js";
import type { ProviderTokens } from "./tokens.js";

const deviceRefSchema = z.object({
  deviceId: z.int().min(1).max(127),
  registrationId: z.int().min(0).max(0x3fff),
});

const directoryEntrySchema = z.object({
  uri: z.string().min(1).max(800),
  devices: z.array(deviceRefSchema).max(127),
  profile: z.object({
    name: z.string().max(1000),
    avatar: z.string().max(4096).optional(),
  }),
});

export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;

export interface ReportInput {
  /** matrix: URI of the reporting user (its user token signs the request). */
  reporter: string;
  /** tel: URI of the reported contact. */
  reported: string;
  messageIds: Uint8Array[];
  reason: ReportReason;
  comment?: string;
}

/** The protocol's own codec validates these bodies (src/protocol/safety.ts); zod only checks they are JSON. */
const anyJson = z.unknown();
export type DeviceRef = z.infer<typeof deviceRefSchema>;

const mediaUploadSchema = z.object({ id: z.string().min(1).max(256) });

export interface GatekeeperApiOptions {
  /** Base URL, e.g. https://gatekeeper.example (no trailing /v1). */
  baseUrl: string;
  tokens: ProviderTokens;
  /** Per request (default 30 s); media transfers get `mediaTimeoutMs` (default 10 min). */
  timeoutMs?: number;
  mediaTimeoutMs?: number;
  fetch?: typeof fetch;
}

export class GatekeeperApi {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly mediaTimeoutMs: number;

  constructor(private readonly options: GatekeeperApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.fetch = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.mediaTimeoutMs = options.mediaTimeoutMs ?? 600_000;
  }

  /** A remote user's devices and profile. Throws UNKNOWN_USER (404) or NOT_OPTED_IN (403). */
  async directory(uri: string): Promise<DirectoryEntry> {
    return this.json("GET", `/v1/directory/${encodeURIComponent(uri)}`, directoryEntrySchema);
  }

  /**
   * Prekey bundles of all devices of `uri`, or of one. Consumes one-time prekeys on the gatekeeper, so ask only for
   * devices you are about to start sessions with.
   */
  async fetchBundles(uri: string, deviceId?: number): Promise<PreKeyBundleResponse> {
    const query = deviceId === undefined ? "" : `?device=${deviceId}`;
    const response = await this.json("GET", `/v1/keys/${encodeURIComponent(uri)}${query}`, preKeyBundleResponseSchema);
    if (response.user !== uri) {
      throw new GatekeeperHttpError(502, "INVALID", `gatekeeper answered bundles of ${response.user} when asked for ${uri}`);
    }
    if (deviceId !== undefined && response.devices.some((d) => d.deviceId !== deviceId)) {
      throw new GatekeeperHttpError(502, "INVALID", `gatekeeper answered other devices when asked for device ${deviceId}`);
    }
    return response;
  }

  /** Uploads one Matrix user's device keys (user token); answers the one-time key counts held afterwards. */
  async uploadKeys(userUri: string, request: KeysUploadRequest): Promise<PreKeyCountResponse> {
    return this.json("PUT", `/v1/keys/${encodeURIComponent(userUri)}`, preKeyCountResponseSchema, request, userUri);
  }

  async keyCounts(uri: string): Promise<PreKeyCountResponse> {
    return this.json("GET", `/v1/keys/${encodeURIComponent(uri)}/count`, preKeyCountResponseSchema);
  }

  /** Whom the user has blocked at the gatekeeper (sorted tel: URIs). */
  async blocks(userUri: string): Promise<string[]> {
    return this.blockList("GET", `/v1/blocks/${encodeURIComponent(userUri)}`, userUri);
  }

  /** Blocks `remote` for the user (idempotent); answers the block list afterwards. */
  async block(userUri: string, remote: string): Promise<string[]> {
    return this.blockList("PUT", `/v1/blocks/${encodeURIComponent(userUri)}/${encodeURIComponent(remote)}`, userUri);
  }

  async unblock(userUri: string, remote: string): Promise<string[]> {
    return this.blockList("DELETE", `/v1/blocks/${encodeURIComponent(userUri)}/${encodeURIComponent(remote)}`, userUri);
  }

  /** Reports a contact to the gatekeeper; answers the gatekeeper's reference for the report. */
  async report(input: ReportInput): Promise<string> {
    const body = reportToJson({ ...input, comment: input.comment ?? "" });
    const answer = await this.json("POST", "/v1/reports", anyJson, body, input.reporter);
    return this.validated("POST /v1/reports", () => reportReceiptFromJson(answer).id);
  }

  private async blockList(method: string, path: string, userUri: string): Promise<string[]> {
    const answer = await this.json(method, path, anyJson, undefined, userUri);
    const list: BlockList = this.validated(`${method} /v1/blocks`, () => blockListFromJson(answer));
    if (list.user !== userUri) throw new GatekeeperHttpError(502, "INVALID", `${method} /v1/blocks: gatekeeper answered the list of another user`);
    return list.blocked;
  }

  private validated<T>(what: string, read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (isProtocolError(err)) throw new GatekeeperHttpError(502, "INVALID", `${what}: unexpected answer from the gatekeeper (${err.message})`);
      throw err;
    }
  }

  /** Stores encrypted media bytes; returns the gatekeeper's media id. */
  async uploadMedia(body: Uint8Array, contentType = "application/octet-stream"): Promise<string> {
    const response = await this.request("POST", "/v1/media", {
      body: body as Uint8Array<ArrayBuffer>,
      contentType,
      timeoutMs: this.mediaTimeoutMs,
    });
    return (await this.parse(response, mediaUploadSchema, "POST /v1/media")).id;
  }

  /** Opens a stored media object; the caller reads (and verifies) `body`. */
  async downloadMedia(id: string): Promise<Response> {
    return this.request("GET", `/v1/media/${encodeURIComponent(id)}`, { timeoutMs: this.mediaTimeoutMs });
  }

  private async json<T>(
    method: string,
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
    asUser?: string,
  ): Promise<T> {
    const response = await this.request(method, path, {
      ...(body === undefined ? {} : { body: JSON.stringify(body), contentType: "application/json" }),
      ...(asUser === undefined ? {} : { asUser }),
      timeoutMs: this.timeoutMs,
    });
    return this.parse(response, schema, `${method} ${path.split("?")[0]}`);
  }

  private async request(
    method: string,
    path: string,
    opts: { body?: RequestInit["body"]; contentType?: string; asUser?: string; timeoutMs: number },
  ): Promise<Response> {
    const token =
      opts.asUser === undefined
        ? await this.options.tokens.providerToken()
        : await this.options.tokens.userToken(opts.asUser);
    // Error messages end up in logs: the path names users, so their numbers are masked there.
    const what = `${method} ${redactDigits(decodePath(path.split("?")[0]!))}`;
    let response: Response;
    try {
      response = await this.fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(opts.contentType ? { "content-type": opts.contentType } : {}),
        },
        ...(opts.body === undefined ? {} : { body: opts.body }),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new GatekeeperHttpError(0, "UNREACHABLE", `${what}: gatekeeper unreachable (${why})`);
    }
    if (!response.ok) throw await errorOf(response, what);
    return response;
  }

  private async parse<T>(response: Response, schema: z.ZodType<T>, what: string): Promise<T> {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new GatekeeperHttpError(502, "INVALID", `${what}: gatekeeper answered something that is not JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
      throw new GatekeeperHttpError(502, "INVALID", `${what}: unexpected answer from the gatekeeper (${where}${issue?.message})`);
    }
    return parsed.data;
  }
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

async function errorOf(response: Response, what: string): Promise<GatekeeperHttpError> {
  const text = await response.text().catch(() => "");
  let errcode = `HTTP_${response.status}`;
  let message = text.slice(0, 500) || response.statusText;
  try {
    const body = JSON.parse(text) as { errcode?: unknown; error?: unknown };
    if (typeof body.errcode === "string") errcode = body.errcode;
    if (typeof body.error === "string") message = body.error;
  } catch {
    // Not the gatekeeper's JSON error shape (a proxy's HTML page, say): keep the raw text.
  }
  return new GatekeeperHttpError(response.status, errcode, `${what}: ${response.status} ${errcode}: ${message}`);
}
