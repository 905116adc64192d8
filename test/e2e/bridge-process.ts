// Runs the real bridge CLI (`matrix-dma-bridge start`) as a child process, so tests can restart and SIGKILL it.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
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

  /** The running bridge's process ID (benchmarks read its CPU time and memory from /proc), if it runs. */
  get pid(): number | undefined {
    const child = this.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /** What the bridge logged so far (the last 64 KiB). */
  get logs(): string {
    return this.output;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, ["--enable-source-maps", CLI, "start", "-c", this.configPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    // MDB_BRIDGE_LOG_FILE keeps the whole log (the tail here is for failure messages), for digging into a slow run.
    const file = process.env["MDB_BRIDGE_LOG_FILE"];
    const collect = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString("utf8")).slice(-LOG_TAIL);
      if (file) appendFileSync(file, chunk);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    const health = `http://127.0.0.1:${this.config.appservice.port}/health`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the bridge exited with ${child.exitCode} while starting:\n${this.output}`);
      const ok = await fetch(health).then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`the bridge did not come up within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Graceful stop (SIGTERM), as an admin would. */
  stop(): Promise<void> {
    return this.signal("SIGTERM");
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
