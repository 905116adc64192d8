// Worker-thread entry: runs one target and posts its report (progress messages on the way).
import { parentPort, workerData } from "node:worker_threads";
import { runTarget, type EngineOptions } from "./engine.js";
import type { Target } from "./targets.js";

// The yaml library warns through process.emitWarning (e.g. for a mapping used as a key); thousands of mutated
// configs would bury the report under them.
process.removeAllListeners("warning");

const { options, shared } = workerData as { options: EngineOptions; shared: SharedArrayBuffer };
const extra = options.targetModule ? ((await import(options.targetModule)) as { TARGETS: Record<string, () => Target> }).TARGETS : {};
const report = runTarget(options, shared, (done) => parentPort!.postMessage({ type: "progress", done }), extra);
parentPort!.postMessage({ type: "report", report });
