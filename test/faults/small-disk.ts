// A small disk for the bridge's database: a tmpfs of a few megabytes (mounting needs root), which the disk-full fault
// fills to the last byte with a filler file and frees again.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export class SmallDisk {
  private mounted = true;
  private constructor(readonly dir: string) {}

  static mount(megabytes: number): SmallDisk {
    const dir = mkdtempSync(join(tmpdir(), "mdb-small-disk-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${megabytes}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the disk-full fault mounts a tmpfs and needs root: ${(err as Error).message}`);
    }
    const disk = new SmallDisk(dir);
    process.once("exit", () => disk.unmount());
    return disk;
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  /** Writes filler until not one block is free. */
  fill(): void {
    const filler = this.file("filler");
    for (let i = 0; ; i++) {
      const { bavail, bsize } = statfsSync(this.dir);
      if (bavail === 0) return;
      try {
        writeFileSync(`${filler}${i}`, Buffer.alloc(Number(bavail) * Number(bsize)));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
  }

  free(): void {
    for (let i = 0; i < 100; i++) rmSync(`${this.file("filler")}${i}`, { force: true });
  }

  unmount(): void {
    if (!this.mounted) return;
    this.mounted = false;
    try {
      execFileSync("umount", ["-l", this.dir], { stdio: "pipe" });
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // already gone
    }
  }
}
