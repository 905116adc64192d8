// Media store: opaque (already encrypted) blobs streamed to disk, never held in memory whole.
import { randomBytes } from "node:crypto";
import { closeSync, createReadStream, createWriteStream, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Db } from "./db.js";
import { HttpError, invalid } from "./http-error.js";

export interface MediaInfo {
  id: string;
  size: number;
  contentType: string;
}

const MEDIA_ID = /^[A-Za-z0-9_-]{22}$/;

export class MediaStore {
  private readonly dir: string;

  constructor(
    private readonly db: Db,
    dataDir: string,
    readonly maxBytes: number,
  ) {
    this.dir = join(dataDir, "media");
    mkdirSync(this.dir, { recursive: true });
  }

  /** Streams `body` into a new blob; throws 413 (and keeps nothing) once it exceeds the size limit. */
  async save(body: Readable, uploader: string, contentType: string): Promise<MediaInfo> {
    const id = randomBytes(16).toString("base64url");
    const partial = join(this.dir, `${id}.part`);
    let size = 0;
    const max = this.maxBytes;
    const limiter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) done(new HttpError(413, "TOO_LARGE", `media larger than the limit of ${max} bytes`));
        else done(null, chunk);
      },
    });
    // The request is piped, not pipelined: on overflow the limiter fails and the file is removed, but the request
    // stream stays alone (the server answers 413 and closes the connection instead of reading the rest).
    body.pipe(limiter);
    // A client that disconnects mid-upload makes the request emit "aborted" as an error: drop the partial file.
    body.once("error", (err) => limiter.destroy(err));
    try {
      await pipeline(limiter, createWriteStream(partial, { flags: "wx", mode: 0o600 }));
    } catch (err) {
      body.unpipe(limiter);
      try {
        unlinkSync(partial);
      } catch {
        // nothing was written
      }
      throw err;
    }
    if (size === 0) {
      unlinkSync(partial);
      throw invalid("empty media upload");
    }
    renameSync(partial, this.path(id));
    this.db.prepare("INSERT INTO media (id, uploader, size, content_type, created_at) VALUES (?, ?, ?, ?, ?)").run(id, uploader, size, contentType, Date.now());
    return { id, size, contentType };
  }

  saveBytes(bytes: Uint8Array, uploader: string, contentType: string): Promise<MediaInfo> {
    return this.save(Readable.from([Buffer.from(bytes)]), uploader, contentType);
  }

  info(id: string): MediaInfo | undefined {
    if (!MEDIA_ID.test(id)) return undefined;
    const row = this.db.prepare("SELECT id, size, content_type FROM media WHERE id = ?").get(id) as { id: string; size: number; content_type: string } | undefined;
    return row && { id: row.id, size: row.size, contentType: row.content_type };
  }

  open(id: string): { info: MediaInfo; stream: Readable } | undefined {
    const info = this.info(id);
    if (!info) return undefined;
    const path = this.path(id);
    if (statSync(path, { throwIfNoEntry: false })?.size !== info.size) throw new HttpError(500, "INTERNAL", `media ${id} is missing on disk`);
    return { info, stream: createReadStream(path) };
  }

  /**
   * Test hook: flips one byte of a stored blob (the middle one by default), as a corrupt disk or a malicious media
   * service would. Receivers must then reject the file (interop-protocol §12). Returns the offset changed.
   */
  tamper(id: string, offset?: number): number {
    const info = this.info(id);
    if (!info) throw new HttpError(404, "NOT_FOUND", "no such media");
    const at = offset ?? Math.floor(info.size / 2);
    if (!Number.isSafeInteger(at) || at < 0 || at >= info.size) throw invalid(`offset must be 0..${info.size - 1}`);
    const fd = openSync(this.path(id), "r+");
    try {
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, at);
      byte[0] = byte[0]! ^ 0xff;
      writeSync(fd, byte, 0, 1, at);
    } finally {
      closeSync(fd);
    }
    return at;
  }

  private path(id: string): string {
    return join(this.dir, id);
  }
}
