// The gatekeeper's media service as the media bridge uses it: streamed uploads of encrypted files and streamed,
// size-capped downloads. GatekeeperApi.uploadMedia takes a whole byte array; a video must not sit in memory whole,
// so uploads are sent here as a stream (chunked, or with Content-Length when the size is known in advance).
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { z } from "zod";
import { GatekeeperHttpError } from "../../interop/errors.js";
import type { GatekeeperApi } from "../../interop/http-api.js";
import type { ProviderTokens } from "../../interop/tokens.js";
import { limitBytes, MediaTooLargeError } from "./byte-limit.js";

const uploadAnswer = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/) });

export interface GatekeeperMediaOptions {
  /** Base URL of the gatekeeper, as in the config (no /v1). */
  baseUrl: string;
  api: GatekeeperApi;
  tokens: ProviderTokens;
  /** Per transfer (default 10 min): a large file over a slow link takes a while. */
  timeoutMs?: number;
}

export class GatekeeperMedia {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: GatekeeperMediaOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 600_000;
  }

  /** Streams an encrypted upload to POST /v1/media; resolves with the media id. */
  async upload(body: Readable, contentLength?: number): Promise<string> {
    const token = await this.options.tokens.providerToken();
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/v1/media`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/octet-stream",
          ...(contentLength === undefined ? {} : { "content-length": String(contentLength) }),
        },
        body: Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>,
        duplex: "half",
        signal: AbortSignal.timeout(this.timeoutMs),
      } as RequestInit);
    } catch (err) {
      throw new GatekeeperHttpError(0, "UNREACHABLE", `POST /v1/media: gatekeeper unreachable (${err instanceof Error ? err.message : String(err)})`);
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      let errcode = `HTTP_${response.status}`;
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { errcode?: unknown; error?: unknown };
        if (typeof parsed.errcode === "string") errcode = parsed.errcode;
        if (typeof parsed.error === "string") message = parsed.error;
      } catch {
        // not the gatekeeper's error shape; keep the raw text
      }
      throw new GatekeeperHttpError(response.status, errcode, `POST /v1/media: ${response.status} ${errcode}: ${message}`);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new GatekeeperHttpError(502, "INVALID", "POST /v1/media: gatekeeper answered something that is not JSON");
    }
    const parsed = uploadAnswer.safeParse(answer);
    if (!parsed.success) throw new GatekeeperHttpError(502, "INVALID", "POST /v1/media: no valid media id in the answer");
    return parsed.data.id;
  }

  /** Opens GET /v1/media/{id} as a stream that fails with MediaTooLargeError past `maxBytes`. */
  async download(id: string, maxBytes: number): Promise<Readable> {
    const response = await this.options.api.downloadMedia(id);
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new MediaTooLargeError(maxBytes);
    }
    if (!response.body) throw new GatekeeperHttpError(502, "INVALID", `GET /v1/media/${id}: no body`);
    return Readable.from(limitBytes(maxBytes)(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)));
  }
}
