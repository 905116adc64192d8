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
