/**
 * Media downloads through the authenticated media API (`/_matrix/client/v1/media/download`, Matrix 1.11), streamed so
 * a large video never sits in memory whole, with an optional size cap enforced while the bytes flow.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { MatrixTransport } from "./transport.js";
import { MatrixMediaTooLargeError, MatrixResponseError } from "./errors.js";
import { assertMxc } from "./ids.js";

export interface DownloadOptions {
  /** Fails the download (before or while streaming) if the media is larger than this. */
  maxBytes?: number;
  signal?: AbortSignal;
  /** Download as this user; the appservice's own identity otherwise. */
  asUser?: string;
}

export interface DownloadedMedia {
  stream: Readable;
  contentType: string | undefined;
  /** From the Content-Length header, when the homeserver sent one. */
  contentLength: number | undefined;
}

/** Passes bytes through and errors the stream once more than `limit` went by. */
class ByteLimit extends Transform {
  #seen = 0;

  constructor(
    readonly limit: number,
    readonly mxc: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.limit) callback(new MatrixMediaTooLargeError(this.mxc, this.limit));
    else callback(null, chunk);
  }
}

export async function downloadMedia(client: MatrixTransport, mxc: string, options: DownloadOptions = {}): Promise<DownloadedMedia> {
  const { serverName, mediaId } = assertMxc(mxc);
  const path = `/_matrix/client/v1/media/download/${encodeURIComponent(serverName)}/${encodeURIComponent(mediaId)}`;
  const response = await client.requestRaw("GET", path, {
    ...(options.asUser === undefined ? {} : { asUser: options.asUser }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });

  const lengthHeader = response.headers.get("content-length");
  const contentLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  if (options.maxBytes !== undefined && contentLength !== undefined && contentLength > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new MatrixMediaTooLargeError(mxc, options.maxBytes);
  }
  if (!response.body) throw new MatrixResponseError("GET", path, "no body");

  let stream: Readable = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  if (options.maxBytes !== undefined) {
    const limited = new ByteLimit(options.maxBytes, mxc);
    // pipe() does not forward errors; a failing source must fail the limited stream too.
    stream.on("error", (error) => limited.destroy(error));
    limited.on("close", () => stream.destroy());
    stream = stream.pipe(limited);
  }
  return { stream, contentType: response.headers.get("content-type") ?? undefined, contentLength };
}
