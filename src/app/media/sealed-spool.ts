// Verified plaintext that must be held for a moment (a file whose sender did not state its length: Matrix uploads
// need it up front). Small files stay in memory; larger ones go to a private temporary file (Spool: 0600, in a 0700
// directory, deleted on dispose), encrypted with AES-256-CTR under a key that exists only in this process's memory.
// A crash that leaves the file behind leaves nothing readable.
import { createCipheriv, createDecipheriv, randomBytes, type Cipheriv, type Decipheriv } from "node:crypto";
import { Spool, type SpoolOptions } from "../../protocol/spool.js";

export class SealedSpool {
  private readonly spool: Spool;
  private readonly key = randomBytes(32);
  private readonly iv = randomBytes(16);
  private readonly cipher: Cipheriv;

  constructor(options: SpoolOptions = {}) {
    this.spool = new Spool(options);
    this.cipher = createCipheriv("aes-256-ctr", this.key, this.iv);
  }

  /** Plaintext bytes written so far (CTR keeps the length). */
  get length(): number {
    return this.spool.length;
  }

  get onDisk(): boolean {
    return this.spool.onDisk;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.spool.write(this.cipher.update(chunk));
  }

  async finish(): Promise<void> {
    const last = this.cipher.final();
    if (last.length > 0) await this.spool.write(last);
    await this.spool.finish();
  }

  /** The plaintext again, in order; call after finish(). */
  async *read(): AsyncGenerator<Buffer> {
    const decipher: Decipheriv = createDecipheriv("aes-256-ctr", this.key, this.iv);
    for await (const sealed of this.spool.read()) {
      const plain = decipher.update(sealed);
      if (plain.length > 0) yield plain;
    }
    const last = decipher.final();
    if (last.length > 0) yield last;
  }

  /** Deletes the file (if any) and forgets the key; safe to call more than once. */
  async dispose(): Promise<void> {
    this.key.fill(0);
    await this.spool.dispose();
  }
}
