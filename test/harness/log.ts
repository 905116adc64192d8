import { createLogger } from "../../src/log.js";

const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];
const requested = process.env["MDB_TEST_LOG"] ?? "warn";

// The harness only reports on its own machinery (which Synapse, where its log is). Human-readable lines on
// stderr, so they do not mix into mocha's report on stdout.
export const harnessLog = createLogger(
  { level: (LEVELS as readonly string[]).includes(requested) ? (requested as Level) : "warn", format: "pretty", name: "test-harness" },
  process.stderr,
);
