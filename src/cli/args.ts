// Command-line parsing for matrix-dma-bridge: one command plus its options, or a usage error.
import { parseArgs } from "node:util";

export const USAGE = `Usage: matrix-dma-bridge <command> [options]

Commands:
  start                   run the bridge
  generate-registration   write the appservice registration for the homeserver, and the
                          provider key named by gatekeeper.provider_key if that file is missing
  check-config            validate the config file (and the registration, if it exists)
  healthcheck             ask the running bridge whether it is alive (exit 0) or not (exit 1);
                          --ready: whether it is ready (database, homeserver and gatekeeper reachable)

Options:
  -c, --config <path>     config file (default: config.yaml)
  -f, --file <path>       generate-registration: where to write the registration
                          (default: appservice.registration from the config)
      --rotate            generate-registration: replace as_token and hs_token with new ones
      --ready             healthcheck: ask /ready instead of /health
  -h, --help              show this help
  -v, --version           show the version

Exit codes: 0 success, 1 the bridge failed while running, 2 usage or configuration error.
See docs/configuration.md for every configuration key.`;

export const COMMANDS = ["start", "generate-registration", "check-config", "healthcheck"] as const;
export type CommandName = (typeof COMMANDS)[number];

export type Invocation =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "command"; readonly command: CommandName; readonly configPath: string; readonly registrationPath?: string; readonly rotate: boolean; readonly ready: boolean };

/** A mistake on the command line; reported with the usage hint and exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        file: { type: "string", short: "f" },
        rotate: { type: "boolean" },
        ready: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    // parseArgs' messages are already specific ("Unknown option '--x'"); they only need no stack.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === "help") return { kind: "help" };
  if (values.version) return { kind: "version" };
  if (positionals.length === 0) throw new UsageError("no command given");
  const [command, ...extra] = positionals;
  if (!COMMANDS.includes(command as CommandName)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}; expected one of: ${COMMANDS.join(", ")}`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (command !== "generate-registration") {
    if (values.file !== undefined) throw new UsageError(`--file only applies to generate-registration`);
    if (values.rotate) throw new UsageError(`--rotate only applies to generate-registration`);
  }
  if (values.ready && command !== "healthcheck") throw new UsageError("--ready only applies to healthcheck");
  if (values.config === "") throw new UsageError("--config needs a path");
  if (values.file === "") throw new UsageError("--file needs a path");
  return {
    kind: "command",
    command: command as CommandName,
    configPath: values.config ?? "config.yaml",
    ...(values.file !== undefined ? { registrationPath: values.file } : {}),
    rotate: values.rotate ?? false,
    ready: values.ready ?? false,
  };
}
