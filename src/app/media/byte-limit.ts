// The size limit on media (config bridge.max_media_size_mb), enforced while bytes flow: a declared size can lie.

/** A file is larger than the bridge may carry. `limitBytes` is the limit that was exceeded. */
export class MediaTooLargeError extends Error {
  override readonly name = "MediaTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`media larger than the limit of ${limitBytes} bytes`);
  }
}

/** Async-generator transform that passes bytes through and throws MediaTooLargeError once more than `max` went by. */
export function limitBytes(max: number): (source: AsyncIterable<Uint8Array>) => AsyncGenerator<Uint8Array> {
  return async function* limited(source) {
    let seen = 0;
    for await (const chunk of source) {
      seen += chunk.length;
      if (seen > max) throw new MediaTooLargeError(max);
      yield chunk;
    }
  };
}

/**
 * Reads a small HTTP body whole (a profile picture), refusing it as soon as it grows past `max`: by its declared
 * length before reading, or while it streams (the rest is never downloaded). Throws MediaTooLargeError.
 */
export async function readAtMost(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel().catch(() => undefined);
    throw new MediaTooLargeError(max);
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      throw new MediaTooLargeError(max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
