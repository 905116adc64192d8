import { spawn } from "node:child_process";
import path from "node:path";
import { repoRoot } from "./repo-root.js";

/** True when this process may build and chroot into the Synapse root (both need root). */
export function canRunLocalSynapse(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * Returns the path of the Debian root holding matrix-synapse, building it with scripts/synapse-root.sh when it
 * is missing or its recipe changed. The script serialises concurrent builders with a lock, so parallel test
 * processes can all call this. The first build takes a few minutes; later calls return in milliseconds.
 */
export function ensureSynapseRoot(): Promise<string> {
  const script = path.join(repoRoot(), "scripts", "synapse-root.sh");
  return new Promise((resolve, reject) => {
    // stderr is inherited so the build's progress shows up in the test output.
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (out += chunk));
    child.once("error", (err) => reject(new Error(`cannot run ${script}: ${err.message}`)));
    child.once("close", (code, signal) => {
      const root = out.trim().split("\n").pop() ?? "";
      if (code === 0 && root !== "") resolve(root);
      else reject(new Error(`${script} failed (${signal ?? `exit code ${code}`}); see its messages above`));
    });
  });
}
