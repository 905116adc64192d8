// CPU time and peak memory of another process, from Linux's /proc.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

let clockTicks: number | undefined;

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat (100 almost everywhere). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function read(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch (err) {
    throw new Error(`cannot read /proc/${pid}/${file} (the process is gone, or this is not Linux): ${(err as Error).message}`);
  }
}

/** User plus system CPU time the process has used so far, in milliseconds (10 ms resolution). */
export function cpuTimeMs(pid: number): number {
  const stat = read(pid, "stat");
  // The command name (field 2) is in parentheses and may contain spaces; fields are counted after its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 of stat(5) are utime and stime; fields[0] here is field 3.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unexpected /proc/${pid}/stat: ${stat.slice(0, 200)}`);
  return ((utime + stime) * 1000) / ticksPerSecond();
}

/** The most resident memory the process has had (VmHWM) since it started or since `resetPeakRss`, in bytes. */
export function peakRssBytes(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(read(pid, "status"));
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/**
 * Resets the process's peak RSS to its current RSS (clear_refs value 5, Linux 4.0+), so the next reading is the
 * peak of what happened in between. Returns false when the kernel refuses; the peak then covers the whole lifetime.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** The process's resident memory now (VmRSS), in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(read(pid, "status"));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
