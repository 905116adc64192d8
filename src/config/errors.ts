import { problemToString, type ConfigProblem } from "./problems.js";

/** Every problem found in one configuration (or registration) file, so they can all be fixed in one go. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${source} is not valid (${count}):\n${problems.map((p) => `  ${problemToString(p)}`).join("\n")}`);
  }

  /** The problems as "key.path: message" lines. */
  lines(): string[] {
    return this.problems.map(problemToString);
  }
}
