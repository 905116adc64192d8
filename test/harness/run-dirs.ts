// Run directories and logs of the server processes the test harness starts (Synapse, PostgreSQL): one directory per
// run, named after the test process, so a later run can remove what a killed one left behind.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

/** Run directories of test processes that no longer exist (killed before they could clean up). */
export function removeStaleRuns(runsDir: string): void {
  for (const name of readdirSync(runsDir)) {
    const pid = Number(/^run-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    rmSync(path.join(runsDir, name), { recursive: true, force: true });
  }
}

/** Whether a process with this ID runs (EPERM: it does, as another user's). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The last `lines` lines of a log file, for an error message ("" when there is none). */
export function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").split("\n").slice(-lines - 1).join("\n");
}
