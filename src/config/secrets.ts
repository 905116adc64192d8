// Secret-valued settings may name where the secret lives instead of holding it, so that config files
// can be shared and committed: "env:NAME" reads an environment variable, "file:/path" reads a file.
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { privateModeProblem } from "../util/private-files.js";

export interface SecretContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative file: paths are resolved against this directory (the config file's). */
  readonly baseDir: string;
  /** When true a missing file is reported as deferred rather than as a problem (check-config, key generation). */
  readonly deferMissingFiles: boolean;
}

export type SecretReference =
  | { readonly kind: "env"; readonly name: string }
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "inline" };

export type SecretOutcome =
  | { readonly ok: true; readonly value: string; readonly note?: string }
  | { readonly ok: false; readonly problem: string }
  | { readonly ok: "deferred"; readonly path: string; readonly note: string };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseSecretReference(text: string, baseDir: string): SecretReference | { readonly problem: string } {
  if (text.startsWith("env:")) {
    const name = text.slice(4);
    if (!ENV_NAME.test(name)) return { problem: `names an invalid environment variable ${JSON.stringify(name)} (expected env:NAME with letters, digits, _)` };
    return { kind: "env", name };
  }
  if (text.startsWith("file:")) {
    const path = text.slice(5);
    if (path.trim() === "") return { problem: "names no file (expected file:/path/to/file)" };
    return { kind: "file", path: resolve(baseDir, path) };
  }
  return { kind: "inline" };
}

export function resolveSecret(text: string, context: SecretContext): SecretOutcome {
  const reference = parseSecretReference(text, context.baseDir);
  if ("problem" in reference) return { ok: false, problem: reference.problem };
  switch (reference.kind) {
    case "inline":
      return text.trim() === "" ? { ok: false, problem: "is empty" } : { ok: true, value: text };
    case "env": {
      const value = context.env[reference.name];
      if (value === undefined || value.trim() === "") return { ok: false, problem: `environment variable ${reference.name} is not set` };
      return { ok: true, value: value.trim() };
    }
    case "file":
      return readSecretFile(reference.path, context.deferMissingFiles);
  }
}

function readSecretFile(path: string, deferMissing: boolean): SecretOutcome {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      return deferMissing
        ? { ok: "deferred", path, note: `file ${path} does not exist yet` }
        : { ok: false, problem: `file ${path} does not exist` };
    }
    if (code === "EISDIR") return { ok: false, problem: `${path} is a directory, expected a file` };
    if (code === "EACCES") return { ok: false, problem: `file ${path} is not readable by this user` };
    return { ok: false, problem: `file ${path} cannot be read (${code ?? String(err)})` };
  }
  const value = content.trim();
  if (value === "") return { ok: false, problem: `file ${path} is empty` };
  // A secret that other users can read is not one: refused like the database and the crypto store key. (A container
  // secret mounted 0644 needs defaultMode 0400/0600, or a copy the bridge's user owns.)
  const problem = privateModeProblem(path, "file", statSync(path).mode);
  return problem ? { ok: false, problem } : { ok: true, value };
}
