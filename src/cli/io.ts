// What a command may touch besides files: two output streams and the environment.
import { ConfigError } from "../config/errors.js";
import { problemToString, type ConfigProblem } from "../config/problems.js";

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function processIO(): CliIO {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
  };
}

/** Prints every problem on its own line under a heading naming the file. */
export function reportProblems(io: CliIO, source: string, problems: readonly ConfigProblem[]): void {
  io.err(new ConfigError(source, problems).message.replace(/^/, "error: "));
}

export function reportNotes(io: CliIO, notes: readonly ConfigProblem[]): void {
  for (const note of notes) io.err(`note: ${problemToString(note)}`);
}
