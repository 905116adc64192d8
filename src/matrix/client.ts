/**
 * Client-server API client acting as the appservice: authenticates with the as_token and picks the user (and, with
 * MSC4190 device masquerading, the device) per request with the `user_id` / `device_id` query parameters.
 *
 * It retries what is safe to retry, so callers only see failures that need a decision:
 * - 429: waits as long as the homeserver asks (up to a bound), for every request;
 * - no answer or 5xx: bounded exponential backoff, but only for idempotent requests (GET, PUT with a transaction ID,
 *   joins, ...), because re-sending e.g. a room creation whose answer got lost would create a second room.
 *   A refused connection is retried for every request, since nothing reached the homeserver.
 * Everything else is thrown as `MatrixApiError`.
 */
import { Readable } from "node:stream";
import { pino, type Logger } from "pino";
import type { z } from "zod";
import { MatrixApiError, MatrixConnectionError, MatrixResponseError } from "./errors.js";
import { MatrixIntent } from "./intent.js";
import { assertUserId } from "./ids.js";
import { sleep } from "../util/sleep.js";
import { DEFAULT_RETRY_POLICY, backoffDelayMs, retryAfterFrom, type RetryPolicy } from "./retry.js";
import type { HttpMethod, MatrixTransport, QueryValue, RawBody, RawRequestOptions, RequestOptions } from "./transport.js";

export type { HttpMethod, QueryValue, RawBody, RawRequestOptions, RequestOptions };

export interface MatrixClientOptions {
  /** Base URL of the client-server API, e.g. `http://localhost:8008`. */
  homeserverUrl: string;
  asToken: string;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  /** Default per-attempt timeout; see `RequestOptions.timeoutMs`. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

type RequestBody = NonNullable<RequestInit["body"]>;

const DEFAULT_TIMEOUT_MS = 60_000;

/** Connection failures where the request provably never reached the homeserver. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"]);

function neverSent(cause: unknown): boolean {
  const inner = (cause as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } } | undefined)?.cause;
  if (!inner) return false;
  if (typeof inner.code === "string") return NOT_SENT_CODES.has(inner.code);
  // Happy-eyeballs connects report every address's failure in an AggregateError.
  return Array.isArray(inner.errors) && inner.errors.length > 0 && inner.errors.every((e) => NOT_SENT_CODES.has(String(e.code)));
}

function isStreamBody(body: RawBody | undefined): boolean {
  return body instanceof Readable || (typeof ReadableStream !== "undefined" && body instanceof ReadableStream);
}

async function readApiError(response: Response, method: string, path: string): Promise<MatrixApiError> {
  let body: unknown;
  const text = await response.text().catch(() => "");
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const fields = typeof body === "object" && body !== null ? (body as { errcode?: unknown; error?: unknown }) : {};
  const errcode = typeof fields.errcode === "string" ? fields.errcode : "M_UNKNOWN";
  const message =
    typeof fields.error === "string" ? fields.error : response.statusText || `HTTP ${response.status} without a Matrix error body`;
  const retryAfterMs = response.status === 429 ? retryAfterFrom(body, response.headers.get("retry-after")) : undefined;
  return new MatrixApiError(response.status, errcode, message, retryAfterMs, method, path, body);
}

interface Attempt<T> {
  method: HttpMethod;
  path: string;
  options: RawRequestOptions;
  headers: Record<string, string>;
  body: (() => RequestBody | undefined) | undefined;
  /** Reads the successful answer. */
  consume: (response: Response) => Promise<T>;
  /** Whether the timeout also covers `consume` (JSON) or ends once headers arrive (streamed downloads). */
  timeoutCoversBody: boolean;
}

export class MatrixClient implements MatrixTransport {
  readonly homeserverUrl: string;
  readonly #asToken: string;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  /** Users known to exist, so `ensureRegistered` costs one request per user per process. */
  readonly registeredUsers = new Set<string>();
  readonly #unreachableListeners = new Set<() => void>();

  constructor(options: MatrixClientOptions) {
    let url: URL;
    try {
      url = new URL(options.homeserverUrl);
    } catch {
      throw new TypeError(`homeserver URL is not a valid URL: ${options.homeserverUrl}`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`homeserver URL must be http or https: ${options.homeserverUrl}`);
    }
    if (options.asToken.length === 0) throw new TypeError("as_token must not be empty");
    this.homeserverUrl = url.toString().replace(/\/+$/, "");
    this.#asToken = options.asToken;
    this.#log = options.logger ?? pino({ level: "silent" });
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    if (this.#retry.maxAttempts < 1) throw new RangeError("retry.maxAttempts must be at least 1");
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = options.userAgent ?? "matrix-dma-bridge";
  }

  /** Operations on behalf of one user (a puppet or the bridge bot), optionally as one of its devices. */
  as(userId: string, deviceId?: string): MatrixIntent {
    assertUserId(userId);
    return new MatrixIntent(this, userId, deviceId);
  }

  /** A JSON request; resolves with the parsed (unchecked) answer. */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<unknown> {
    const { body, ...rest } = options;
    const hasBody = body !== undefined;
    const json = hasBody ? JSON.stringify(body) : undefined;
    return this.#execute({
      method,
      path,
      options: rest,
      headers: hasBody ? { "content-type": "application/json" } : {},
      body: json === undefined ? undefined : () => json,
      consume: async (response) => {
        const text = await response.text();
        if (text.length === 0) return {};
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw new MatrixResponseError(method, path, "body is not JSON");
        }
      },
      timeoutCoversBody: true,
    });
  }

  /** A JSON request whose answer is checked against `schema`; a mismatch is a `MatrixResponseError`. */
  async requestValidated<S extends z.ZodType>(
    schema: S,
    method: HttpMethod,
    path: string,
    options: RequestOptions = {},
  ): Promise<z.output<S>> {
    const data = await this.request(method, path, options);
    const result = schema.safeParse(data);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
      throw new MatrixResponseError(method, path, `${where}${issue?.message ?? "unexpected shape"}`);
    }
    return result.data;
  }

  /**
   * A request with a raw body and a raw answer (media). Resolves with the successful `Response` once its headers
   * arrived; its body is for the caller to read (the timeout no longer applies, the signal still does).
   */
  async requestRaw(method: HttpMethod, path: string, options: RawRequestOptions = {}): Promise<Response> {
    const { rawBody } = options;
    const streamed = isStreamBody(rawBody);
    let used = false;
    return this.#execute({
      method,
      path,
      options,
      headers: {
        ...(options.contentType ? { "content-type": options.contentType } : {}),
        ...(streamed && options.contentLength !== undefined ? { "content-length": String(options.contentLength) } : {}),
      },
      body:
        rawBody === undefined
          ? undefined
          : () => {
              if (streamed && used) throw new Error("a streamed request body cannot be sent twice");
              used = true;
              return (rawBody instanceof Readable ? Readable.toWeb(rawBody) : rawBody) as RequestBody;
            },
      consume: async (response) => response,
      timeoutCoversBody: false,
    });
  }

  /**
   * Whether the homeserver answers at all, in one attempt without retries: `/versions` needs no token, so this tells
   * "not reachable" apart from "refuses us". Used to wait for the homeserver at start-up and for readiness.
   */
  async homeserverAnswers(timeoutMs: number): Promise<boolean> {
    try {
      const response = await fetch(`${this.homeserverUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  /**
   * Calls `listener` whenever a request found the homeserver unreachable or unable to serve (no connection, no
   * answer, 502/503/504): the homeserver may be restarting, and a restart can drop events it had accepted but not yet
   * sent to the appservice (see app/homeserver-catch-up.ts). Returns the unsubscribe.
   */
  onUnreachable(listener: () => void): () => void {
    this.#unreachableListeners.add(listener);
    return () => this.#unreachableListeners.delete(listener);
  }

  #unreachable(): void {
    for (const listener of this.#unreachableListeners) listener();
  }

  /**
   * Asks the homeserver to ping this appservice (MSC2659) and returns the round trip it measured.
   * Proves at start-up that the homeserver accepts our as_token and can reach our endpoint; Synapse also resends at
   * once the transactions it held back while it considered us down (otherwise it waits out its backoff, up to 8.5 min).
   */
  async pingHomeserver(appserviceId: string, transactionId?: string): Promise<number> {
    const data = await this.request("POST", `/_matrix/client/v1/appservice/${encodeURIComponent(appserviceId)}/ping`, {
      body: transactionId === undefined ? {} : { transaction_id: transactionId },
      idempotent: true,
    });
    const duration = (data as { duration_ms?: unknown }).duration_ms;
    if (typeof duration !== "number") {
      throw new MatrixResponseError("POST", "/_matrix/client/v1/appservice/{id}/ping", "no duration_ms");
    }
    return duration;
  }

  #url(path: string, options: RequestOptions | RawRequestOptions): string {
    if (!path.startsWith("/")) throw new TypeError(`request path must start with '/': ${path}`);
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) params.append(key, item);
      else params.append(key, String(value));
    }
    if (options.asUser !== undefined) params.set("user_id", options.asUser);
    if (options.asDevice !== undefined) params.set("device_id", options.asDevice);
    const query = params.toString();
    return `${this.homeserverUrl}${path}${query ? `?${query}` : ""}`;
  }

  async #execute<T>(attempt: Attempt<T>): Promise<T> {
    const { method, path, options } = attempt;
    const url = this.#url(path, options);
    const replayable = !isStreamBody((options as RawRequestOptions).rawBody);
    const idempotent = options.idempotent ?? method !== "POST";
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const policy = this.#retry;
    const headers = {
      authorization: `Bearer ${this.#asToken}`,
      "user-agent": this.#userAgent,
      ...attempt.headers,
    };

    for (let number = 1; ; number++) {
      const mayRepeat = replayable && number < policy.maxAttempts;
      const controller = new AbortController();
      const onCallerAbort = (): void => controller.abort(options.signal?.reason);
      if (options.signal?.aborted) throw options.signal.reason;
      options.signal?.addEventListener("abort", onCallerAbort, { once: true });
      const timer = setTimeout(
        () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")),
        timeoutMs,
      );
      const finish = (): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onCallerAbort);
      };

      let outcome: { kind: "done"; value: T } | { kind: "error"; error: MatrixApiError } | { kind: "lost"; cause: unknown };
      try {
        const body = attempt.body?.();
        const response = await fetch(url, {
          method,
          headers,
          body,
          signal: controller.signal,
          ...(body instanceof ReadableStream ? { duplex: "half" as const } : {}),
        });
        if (response.ok) {
          if (!attempt.timeoutCoversBody) clearTimeout(timer);
          outcome = { kind: "done", value: await attempt.consume(response) };
          // A streamed answer keeps following the caller's signal; the listener goes once the caller is done.
          if (attempt.timeoutCoversBody) finish();
        } else {
          outcome = { kind: "error", error: await readApiError(response, method, path) };
          finish();
        }
      } catch (cause) {
        finish();
        if (options.signal?.aborted) throw options.signal.reason;
        if (cause instanceof MatrixResponseError) throw cause;
        outcome = { kind: "lost", cause };
      }

      if (outcome.kind === "done") return outcome.value;

      if (outcome.kind === "lost") {
        this.#unreachable();
        const error = new MatrixConnectionError(method, path, outcome.cause);
        if (!mayRepeat || !(idempotent || neverSent(outcome.cause))) throw error;
        const delay = backoffDelayMs(policy, number - 1);
        this.#log.warn({ method, path, attempt: number, delayMs: delay, reason: error.message }, "homeserver unreachable; retrying");
        await sleep(delay, options.signal);
        continue;
      }

      const error = outcome.error;
      if (error.status === 502 || error.status === 503 || error.status === 504) this.#unreachable();
      if (error.status === 429 && mayRepeat) {
        const delay = error.retryAfterMs ?? backoffDelayMs(policy, number - 1);
        if (delay <= policy.maxRetryAfterMs) {
          this.#log.warn({ method, path, attempt: number, delayMs: delay }, "rate limited by the homeserver; retrying");
          await sleep(delay, options.signal);
          continue;
        }
      }
      if (error.status >= 500 && error.status !== 501 && mayRepeat && idempotent) {
        const delay = backoffDelayMs(policy, number - 1);
        this.#log.warn({ method, path, attempt: number, delayMs: delay, status: error.status, errcode: error.errcode }, "homeserver error; retrying");
        await sleep(delay, options.signal);
        continue;
      }
      throw error;
    }
  }
}
