// start: validates everything the bridge needs before it runs, then hands over to the runtime.
import { ConfigError } from "../config/errors.js";
import { analyseConfigFile } from "../config/load.js";
import { problemToString } from "../config/problems.js";
import { loadRegistration, registrationMismatches } from "../config/registration.js";
import { createLogger } from "../log.js";
import { BRIDGE_VERSION } from "../version.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, reportProblems, type CliIO } from "./io.js";

export async function startCommand(io: CliIO, configPath: string): Promise<number> {
  const analysis = analyseConfigFile(configPath, { env: io.env });
  if (!analysis.config) {
    reportProblems(io, configPath, analysis.problems);
    return EXIT_USAGE;
  }
  const config = analysis.config;
  try {
    const registration = loadRegistration(config.appservice.registration);
    const mismatches = registrationMismatches(config, registration);
    if (mismatches.length > 0) {
      io.err(`error: ${config.appservice.registration} does not match ${configPath}; run generate-registration and restart the homeserver:`);
      for (const mismatch of mismatches) io.err(`  ${mismatch}`);
      return EXIT_USAGE;
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    reportProblems(io, err.source, err.problems);
    return EXIT_USAGE;
  }

  const logger = createLogger({ ...config.logging, name: "matrix-dma-bridge" });
  for (const note of analysis.notes) logger.warn(problemToString(note));
  logger.info({ version: BRIDGE_VERSION, config: configPath }, "starting");
  try {
    // Loaded only here so that check-config and generate-registration never pay for (or trip over) the runtime.
    const { runBridge } = await import("../app/run.js");
    await runBridge(config);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ConfigError) {
      reportProblems(io, err.source, err.problems);
      return EXIT_USAGE;
    }
    // The message is for the operator; the stack is for whoever debugs it.
    const error = err instanceof Error ? err : new Error(String(err));
    logger.debug({ err: error }, "bridge failure details");
    logger.fatal(`the bridge stopped: ${error.message}`);
    return EXIT_FAILURE;
  }
}
