// generate-registration: writes the registration the homeserver needs (keeping existing tokens unless
// --rotate) and creates the provider key when the config names a key file that does not exist yet.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../config/errors.js";
import { analyseConfigFile } from "../config/load.js";
import { generateProviderKey, providerPublicKey } from "../config/provider-key.js";
import { generateRegistration, loadRegistration, renderRegistration, type Registration } from "../config/registration.js";
import { ensurePrivateParent, writePrivateFileAtomically } from "../util/private-files.js";
import { EXIT_OK, EXIT_USAGE, reportNotes, reportProblems, type CliIO } from "./io.js";

export interface GenerateRegistrationArgs {
  readonly configPath: string;
  /** Default: appservice.registration from the config. */
  readonly registrationPath?: string;
  readonly rotate: boolean;
}

const shellWord = (word: string) => (/^[A-Za-z0-9._:=@\/-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);

/** The `dma-gatekeeper provider add` line for this bridge, ready to paste into a shell. */
export function enlistCommand(providerId: string, publicKey: string, domain: string): string {
  return ["dma-gatekeeper", "provider", "add", "--id", providerId, "--public-key", publicKey, "--domain", domain].map(shellWord).join(" ");
}

export function generateRegistrationCommand(io: CliIO, args: GenerateRegistrationArgs): number {
  const analysis = analyseConfigFile(args.configPath, { env: io.env, deferMissingSecretFiles: true });
  if (!analysis.config) {
    reportProblems(io, args.configPath, analysis.problems);
    return EXIT_USAGE;
  }
  const config = analysis.config;
  reportNotes(io, analysis.notes.filter((note) => !analysis.deferredFiles.some((file) => file.keyName === note.path)));

  const missingKey = analysis.deferredFiles.find((file) => file.keyName === "gatekeeper.provider_key");
  let publicKey: string;
  if (missingKey) {
    publicKey = generateProviderKey(missingKey.path);
    io.out(`created provider key ${missingKey.path}`);
    io.out(`provider public key (give it to the gatekeeper operator to enlist provider "${config.gatekeeper.provider_id}"): ${publicKey}`);
  } else {
    publicKey = providerPublicKey(config.gatekeeper.provider_key);
    io.out(`provider public key: ${publicKey}`);
  }
  io.out(`to enlist it on the reference gatekeeper:\n  ${enlistCommand(config.gatekeeper.provider_id, publicKey, config.homeserver.domain)}`);

  const target = resolve(args.registrationPath ?? config.appservice.registration);
  let existing: Registration | null = null;
  if (existsSync(target) && !args.rotate) {
    try {
      existing = loadRegistration(target, { allowEmptyTokens: true });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      reportProblems(io, target, err.problems);
      io.err("error: the existing tokens cannot be kept; fix the file, or pass --rotate to replace them");
      return EXIT_USAGE;
    }
  }
  const registration = generateRegistration(config, existing, { rotate: args.rotate });
  // Via a fresh 0600 temporary file: a crash never leaves a half-written registration (and lost tokens), and the two
  // tokens are never readable by other users, not even for a moment.
  ensurePrivateParent(target);
  writePrivateFileAtomically(target, renderRegistration(registration));
  const kept = existing !== null && existing.as_token === registration.as_token;
  io.out(`wrote ${target} (${kept ? "tokens kept" : "new tokens"})`);
  if (target !== config.appservice.registration) {
    io.err(`note: the bridge reads its registration from ${config.appservice.registration} (appservice.registration); point that key at ${target}`);
  }
  if (!kept) io.out("add the file to the homeserver's app_service_config_files and restart the homeserver");
  return EXIT_OK;
}
