// Finds processes this benchmark started, however deep (Synapse runs under chroot and a supervisor shell), by
// their command line, so their CPU time can be read too.
import { readdirSync, readFileSync } from "node:fs";

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined; // gone meanwhile
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/**
 * Descendants of `root` (default: this process) whose command line (argv) satisfies `matches`, innermost only:
 * wrappers (a supervisor shell, chroot) carry the program's command line too, but the work happens further in.
 */
export function findDescendants(matches: (argv: string[]) => boolean, root = process.pid): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const found: number[] = [];
  // Returns whether `pid` or anything below it matched.
  const visit = (pid: number): boolean => {
    let below = false;
    for (const child of children.get(pid) ?? []) below = visit(child) || below;
    if (!below && pid !== root && matches(commandLine(pid))) {
      found.push(pid);
      return true;
    }
    return below;
  };
  visit(root);
  return found;
}
