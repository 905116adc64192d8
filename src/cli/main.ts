#!/usr/bin/env node
// matrix-dma-bridge: command-line entry point. Exit codes: 0 ok, 1 runtime failure, 2 usage/config error.
import { BRIDGE_VERSION } from "../version.js";
import { parseInvocation, UsageError, USAGE } from "./args.js";
import { checkConfig } from "./check-config.js";
import { generateRegistrationCommand } from "./generate-registration.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, processIO, type CliIO } from "./io.js";
import { healthcheckCommand } from "./healthcheck.js";
import { startCommand } from "./start.js";

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}`);
    io.err("Run matrix-dma-bridge --help for usage.");
    return EXIT_USAGE;
  }
  switch (invocation.kind) {
    case "help":
      io.out(USAGE);
      return EXIT_OK;
    case "version":
      io.out(BRIDGE_VERSION);
      return EXIT_OK;
    case "command":
      switch (invocation.command) {
        case "check-config":
          return checkConfig(io, invocation.configPath);
        case "generate-registration":
          return generateRegistrationCommand(io, invocation);
        case "start":
          return startCommand(io, invocation.configPath);
        case "healthcheck":
          return healthcheckCommand(io, invocation.configPath, invocation.ready);
      }
  }
}

const io = processIO();
try {
  process.exitCode = await main(process.argv.slice(2), io);
} catch (err) {
  // Anything reaching here is a bug or an environment failure (disk full, permissions); keep it to one line.
  io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = EXIT_FAILURE;
}
// The runtime may leave timers or sockets behind once it has stopped; the command's result is final.
process.exit(process.exitCode);
