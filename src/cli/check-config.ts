// check-config: validates the config and, when it exists, that the registration agrees with it.
// A provider key file that does not exist yet is only a note: generate-registration creates it.
import { existsSync } from "node:fs";
import { ConfigError } from "../config/errors.js";
import { analyseConfigFile } from "../config/load.js";
import type { ConfigProblem } from "../config/problems.js";
import { loadRegistration, registrationMismatches } from "../config/registration.js";
import { EXIT_OK, EXIT_USAGE, reportNotes, reportProblems, type CliIO } from "./io.js";

export function checkConfig(io: CliIO, configPath: string): number {
  const analysis = analyseConfigFile(configPath, { env: io.env, deferMissingSecretFiles: true });
  if (!analysis.config) {
    reportProblems(io, configPath, analysis.problems);
    return EXIT_USAGE;
  }
  const notes: ConfigProblem[] = [...analysis.notes];
  const registrationPath = analysis.config.appservice.registration;
  if (!existsSync(registrationPath)) {
    notes.push({ path: "appservice.registration", keyPath: ["appservice", "registration"], message: `${registrationPath} does not exist yet; run generate-registration` });
  } else {
    try {
      const registration = loadRegistration(registrationPath, { allowEmptyTokens: true });
      const mismatches = registrationMismatches(analysis.config, registration);
      if (mismatches.length > 0) {
        const problems = mismatches.map((message) => ({ path: "", keyPath: [], message }));
        io.err(`error: ${registrationPath} does not match ${configPath}; run generate-registration and restart the homeserver:`);
        for (const problem of problems) io.err(`  ${problem.message}`);
        return EXIT_USAGE;
      }
      if (!registration.as_token || !registration.hs_token) {
        notes.push({ path: "appservice.registration", keyPath: ["appservice", "registration"], message: `${registrationPath} has no tokens yet; run generate-registration` });
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      reportProblems(io, err.source, err.problems);
      return EXIT_USAGE;
    }
  }
  reportNotes(io, notes);
  io.out("config OK");
  return EXIT_OK;
}
