import { pino } from "pino";

// The harness runs beside the code under test and only reports on its own machinery (which Synapse, where
// its log is). TODO: switch to createLogger from src/log.ts once it exists.
export const harnessLog = pino(
  { name: "test-harness", level: process.env["MDB_TEST_LOG"] ?? "warn" },
  pino.destination(2),
);
