// What an intent (and a media download) needs of the client: requests, with the appservice's retries and identity
// rules behind them. An interface of its own so that the client can create intents without a module cycle.
import type { Readable } from "node:stream";
import type { z } from "zod";

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** JSON body. */
  body?: unknown;
  /** Act as this user (must be in the appservice's namespace). */
  asUser?: string;
  /** Act as this device of `asUser` (MSC4190 device masquerading). */
  asDevice?: string;
  /** Whether repeating the request after a lost answer is harmless. Defaults to true for everything but POST. */
  idempotent?: boolean;
  /** Per-attempt limit until the answer's headers (and, for JSON, its body) have arrived. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Request bodies for media uploads. Streams cannot be replayed, so requests with them are never retried. */
export type RawBody = Uint8Array | Readable | ReadableStream<Uint8Array>;

export interface RawRequestOptions extends Omit<RequestOptions, "body"> {
  rawBody?: RawBody;
  contentType?: string;
  /** Sent as Content-Length for streamed bodies (byte arrays get it automatically). */
  contentLength?: number;
}

export interface MatrixTransport {
  /** Users known to exist, so registering costs one request per user per process. */
  readonly registeredUsers: Set<string>;
  request(method: HttpMethod, path: string, options?: RequestOptions): Promise<unknown>;
  requestValidated<S extends z.ZodType>(schema: S, method: HttpMethod, path: string, options?: RequestOptions): Promise<z.output<S>>;
  requestRaw(method: HttpMethod, path: string, options?: RawRequestOptions): Promise<Response>;
}
