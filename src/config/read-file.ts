// Reading the bridge's own files (config, registration) with a message that says which file and why it failed.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/** The file's text, or a problem such as "config file /etc/x.yaml does not exist". */
export function readOwnFile(path: string, what: string, missingHint = ""): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(path, "utf8") };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      problem:
        code === "ENOENT" ? `${what} file ${resolve(path)} does not exist${missingHint}` : `${what} file ${resolve(path)} cannot be read (${code ?? String(err)})`,
    };
  }
}
