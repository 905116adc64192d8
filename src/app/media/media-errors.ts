// Which media failures the user must hear about (MediaError, with the sentence they read) and which are worth a
// retry (anything else: the durable queues try again with backoff).
import { MediaError } from "../../core/ports.js";
import { GatekeeperHttpError } from "../../interop/errors.js";
import { MatrixApiError, MatrixMediaTooLargeError } from "../../matrix/errors.js";
import { MediaIntegrityError } from "../../protocol/media-crypto.js";
import { MediaTooLargeError } from "./byte-limit.js";
import { AttachmentIntegrityError } from "./matrix-attachments.js";

/** "100 MB", "2.5 MB": the configured limit as the user wrote it. */
export function describeLimit(maxBytes: number): string {
  const mb = maxBytes / (1024 * 1024);
  return `${Number.isInteger(mb) ? mb : Number(mb.toFixed(1))} MB`;
}

export function tooLarge(maxBytes: number, cause?: unknown): MediaError {
  return new MediaError(`the file is larger than this bridge's limit of ${describeLimit(maxBytes)}`, { cause });
}

/**
 * The MediaError for a failure the user should be told about, or undefined for a transient one (retry). `network`
 * names the remote network in sentences ("WhatsApp's media service").
 */
export function mediaErrorOf(err: unknown, maxBytes: number, network: string): MediaError | undefined {
  if (err instanceof MediaError) return err;
  if (err instanceof MediaTooLargeError || err instanceof MatrixMediaTooLargeError) return tooLarge(maxBytes, err);
  if (err instanceof MediaIntegrityError || err instanceof AttachmentIntegrityError) {
    return new MediaError("the file failed its integrity check (it was altered or damaged on the way), so it was rejected", { cause: err });
  }
  if (err instanceof GatekeeperHttpError) {
    if (err.unreachable || err.status === 429 || err.status === 500) return undefined;
    if (err.status === 413) return new MediaError(`the file is larger than ${network}'s media service accepts`, { cause: err });
    if (err.status === 404) return new MediaError(`the file is no longer available on ${network}'s media service`, { cause: err });
    return new MediaError(`${network}'s media service refused it (${err.errcode})`, { cause: err });
  }
  if (err instanceof MatrixApiError) {
    if (err.status === 429 || err.status >= 500) return undefined;
    if (err.status === 413) return new MediaError("the file is larger than the homeserver accepts", { cause: err });
    if (err.status === 404) return new MediaError("the file is not available on the homeserver", { cause: err });
    return new MediaError(`the homeserver refused the transfer (${err.errcode})`, { cause: err });
  }
  return undefined;
}
