// Runs the real bridge CLI (`matrix-dma-bridge start`) as a child process, so tests can restart and SIGKILL it.
import { appendFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { BridgeConfig } from "../../src/config/schema.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const LOG_TAIL = 64 * 1024;

export class BridgeProcess {
  private child: ChildProcess | undefined;
  private output = "";
  readonly configPath: string;

  constructor(
    private readonly config: BridgeConfig,
    dir: string,
  ) {
    this.configPath = join(dir, "bridge-config.yaml");
    writeFileSync(this.configPath, stringify(config), { mode: 0o600 });
  }

  private readonly watchers: { pattern: RegExp; count: number }[] = [];

  /** Counts the log lines matching `pattern` from now on, across restarts (the kept log is only a tail). */
  watchLines(pattern: RegExp): { readonly count: number } {
    const w = { pattern, count: 0 };
    this.watchers.push(w);
    return w;
  }

  /** The running bridge's process ID (benchmarks read its CPU time and memory from /proc), if it runs. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** What the bridge logged so far (the last 64 KiB). */
  get logs(): string {
    return this.output;
  }

  /**
   * Starts the bridge and waits until it has `started` (per /ready: database, homeserver, bot and queues; the
   * gatekeeper may still be connecting) or, with until "listening", only until /health answers.
   */
  async start(timeoutMs = 30_000, until: "listening" | "started" = "started"): Promise<void> {
    const child = spawn(process.execPath, ["--enable-source-maps", CLI, "start", "-c", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let partial = "";
    const collect = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      this.output = (this.output + text).slice(-LOG_TAIL);
      // The whole log, for a failure the last 64 KiB do not explain (set with MDB_TEST_LOG=debug).
      const file = process.env["MDB_TEST_BRIDGE_LOG"];
      if (file) appendFileSync(file, text);
      if (this.watchers.length === 0) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) for (const w of this.watchers) if (w.pattern.test(line)) w.count++;
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const base = `http://127.0.0.1:${this.config.appservice.port}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the bridge exited with ${child.exitCode} while starting:\n${this.output}`);
      const ok =
        until === "listening"
          ? await fetch(`${base}/health`).then((r) => r.ok, () => false)
          : await fetch(`${base}/ready`).then(async (r) => ((await r.json()) as { started?: boolean }).started === true, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the bridge did not come up within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Graceful stop (SIGTERM), as an admin would. */
  stop(): Promise<void> {
    return this.signal("SIGTERM");
  }

  /** SIGSTOP: the process stays, but answers nothing (a swapped-out or livelocked host) until thaw(). */
  freeze(): void {
    this.child?.kill("SIGSTOP");
  }

  thaw(): void {
    this.child?.kill("SIGCONT");
  }

  /** No goodbye: what a power cut or the OOM killer does. */
  kill(): Promise<void> {
    return this.signal("SIGKILL");
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill(sig);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
