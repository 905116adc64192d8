import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";

// Runs the program in the background and stays as its parent. A watcher reads our stdin pipe: when the test
// process dies in any way (even SIGKILL, which skips every 'exit' handler) the pipe reaches EOF and the watcher
// stops the program, so no server outlives its test run. $1 is the signal that asks the program to stop.
const SUPERVISOR = `
sig="$1"; shift
exec 3<&0 </dev/null
"$@" 3<&- &
pid=$!
trap 'kill -"$sig" "$pid" 2>/dev/null' TERM INT HUP
(
  read -r _ <&3
  kill -"$sig" "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$i" -ge 75 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.2; i=$((i + 1))
  done
) &
watcher=$!
exec 3<&-
code=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done
kill "$watcher" 2>/dev/null
exit "$code"
`;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when mocha exits hard (--exit) without stop(): kill the whole process group synchronously.
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGKILL");
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

export interface SupervisedProcess {
  readonly pid: number;
  /** Settles with the exit code (or the signal's name) once the supervisor has exited. */
  readonly exited: Promise<number | string>;
  /** True until the process exits. */
  running(): boolean;
  /** Asks the program to stop, then SIGKILLs the whole process group when it has not exited after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SuperviseOptions {
  /** The program and its arguments. */
  argv: string[];
  /** Put in front of the supervising shell, e.g. ["chroot", root] to run it inside a root. */
  wrapper?: string[];
  /** stdout and stderr are appended here. */
  outputPath: string;
  /** The whole environment: nothing of the test process's leaks in. */
  env: Record<string, string>;
  /** Run as this user and group (libuv also drops the supplementary groups). */
  uid?: number;
  gid?: number;
  /** The signal that asks the program to stop (PostgreSQL's fast shutdown is SIGINT). Default SIGTERM. */
  stopSignal?: "TERM" | "INT";
}

/** Starts a program under the supervisor above, in its own process group. */
export function spawnSupervised(opts: SuperviseOptions): SupervisedProcess {
  installExitHook();
  const [command, ...wrapperArgs] = [...(opts.wrapper ?? []), "/bin/sh"];
  const out = openSync(opts.outputPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(command!, [...wrapperArgs, "-c", SUPERVISOR, "supervisor", opts.stopSignal ?? "TERM", ...opts.argv], {
      detached: true,
      stdio: ["pipe", out, out],
      env: opts.env,
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
  } finally {
    closeSync(out);
  }
  if (child.pid === undefined) throw new Error(`could not start ${command} (is it installed, and may we run it?)`);
  const pid = child.pid;
  live.add(child);
  // The pipe must not keep the test process alive, and its write end must stay open until we stop.
  child.stdin?.on("error", () => {});
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.unref();

  let isRunning = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      isRunning = false;
      live.delete(child);
      resolve(code ?? signal ?? "unknown");
    });
  });

  return {
    pid,
    exited,
    running: () => isRunning,
    async stop(graceMs = 15_000) {
      if (!isRunning) return;
      child.stdin?.end();
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // Already exited; the 'exit' event is on its way.
      }
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
      // The program exits before its supervisor does; this sweeps up a watcher that is still between its sleeps.
      killGroup(child, "SIGKILL");
    },
  };
}
