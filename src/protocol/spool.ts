// A write-once, read-back byte buffer that stays in memory up to a limit and then moves to a private temporary file.
// The media decryptor parks ciphertext here while it verifies a download, so large files never sit in memory and
// no plaintext is written to disk.
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SpoolOptions {
  /** Bytes kept in memory before spilling to disk. Default 4 MiB. */
  memoryLimit?: number;
  /** Directory for the temporary file. Default: the OS temporary directory. */
  dir?: string;
}

export const DEFAULT_SPOOL_MEMORY_LIMIT = 4 * 1024 * 1024;

export class Spool {
  private readonly memoryLimit: number;
  private readonly parentDir: string;
  private chunks: Uint8Array[] = [];
  private memoryBytes = 0;
  private dir: string | undefined;
  private file: FileHandle | undefined;
  private path: string | undefined;
  private sealed = false;
  private disposed = false;
  length = 0;

  constructor(options: SpoolOptions = {}) {
    this.memoryLimit = options.memoryLimit ?? DEFAULT_SPOOL_MEMORY_LIMIT;
    this.parentDir = options.dir ?? tmpdir();
  }

  /** True once the data has moved to a file. */
  get onDisk(): boolean {
    return this.path !== undefined;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.sealed || this.disposed) throw new Error("spool: write after finish");
    if (chunk.length === 0) return;
    this.length += chunk.length;
    if (this.file) {
      await this.file.write(chunk);
      return;
    }
    // Copy: the caller may reuse its buffer once we return.
    this.chunks.push(Buffer.from(chunk));
    this.memoryBytes += chunk.length;
    if (this.memoryBytes > this.memoryLimit) await this.spill();
  }

  private async spill(): Promise<void> {
    this.dir = await mkdtemp(join(this.parentDir, "mdb-spool-"));
    this.path = join(this.dir, "data");
    this.file = await open(this.path, "wx", 0o600);
    for (const chunk of this.chunks) await this.file.write(chunk);
    this.chunks = [];
    this.memoryBytes = 0;
  }

  async finish(): Promise<void> {
    this.sealed = true;
    if (this.file) {
      await this.file.close();
      this.file = undefined;
    }
  }

  /** Reads everything back in order; call after finish(). */
  async *read(): AsyncGenerator<Uint8Array> {
    if (!this.sealed) throw new Error("spool: read before finish");
    if (this.disposed) throw new Error("spool: read after dispose");
    if (this.path === undefined) {
      yield* this.chunks;
      return;
    }
    for await (const chunk of createReadStream(this.path, { highWaterMark: 256 * 1024 })) {
      yield chunk as Buffer;
    }
  }

  /** Frees memory and deletes the temporary file; safe to call more than once. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.chunks = [];
    if (this.file) await this.file.close().catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
