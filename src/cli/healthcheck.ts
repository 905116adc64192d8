// healthcheck: asks a running bridge's appservice listener whether it is alive (/health) or ready (/ready), for
// container healthchecks and scripts that have no curl. Exit 0 yes, 1 no, 2 the config cannot be read.
import { isIP } from "node:net";
import { analyseConfigFile } from "../config/load.js";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, reportProblems, type CliIO } from "./io.js";

const TIMEOUT_MS = 4_000;

/** The address the bridge can be reached at on this host: a wildcard bind is reached over loopback. */
export function localListenerUrl(bindAddress: string, port: number): string {
  const host = bindAddress === "0.0.0.0" ? "127.0.0.1" : bindAddress === "::" ? "::1" : bindAddress;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export async function healthcheckCommand(io: CliIO, configPath: string, ready: boolean): Promise<number> {
  // The listener's address is all it needs: a provider key that is missing does not make a running bridge unhealthy.
  const analysis = analyseConfigFile(configPath, { env: io.env, deferMissingSecretFiles: true });
  if (!analysis.config) {
    reportProblems(io, configPath, analysis.problems);
    return EXIT_USAGE;
  }
  const { bind_address, port } = analysis.config.appservice;
  const url = `${localListenerUrl(bind_address, port)}${ready ? "/ready" : "/health"}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = await response.text();
    if (response.ok) {
      io.out(`${ready ? "ready" : "alive"}: ${url}`);
      return EXIT_OK;
    }
    io.err(`not ${ready ? "ready" : "alive"}: ${url} answered HTTP ${response.status} ${body.slice(0, 500)}`);
    return EXIT_FAILURE;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    io.err(`not ${ready ? "ready" : "alive"}: no answer from ${url} (${cause})`);
    return EXIT_FAILURE;
  }
}
