// Reads a YAML config file, validates it and reports every problem with its key path and line.
import { dirname, resolve } from "node:path";
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { readOwnFile } from "./read-file.js";
import { ConfigError } from "./errors.js";
import { configErrorMap, describeValue, formatPath, issuesToProblems, type ConfigProblem } from "./problems.js";
import { buildConfigSchema, type BridgeConfig, type SchemaContext } from "./schema.js";

export interface LoadOptions {
  /** Directory that relative paths (and file: secrets) are resolved against; default: the config file's, or the cwd. */
  readonly baseDir?: string;
  /** Environment for env: secrets; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Report secret files that do not exist yet as notes instead of problems. Used by check-config and
   * generate-registration, which may run before the provider key has been generated. The returned
   * config then holds "" for such secrets and must not be used to run the bridge.
   */
  readonly deferMissingSecretFiles?: boolean;
}

export interface ConfigAnalysis {
  /** The config when there are no problems. */
  readonly config: BridgeConfig | null;
  readonly problems: readonly ConfigProblem[];
  /** Hints that do not invalidate the config. */
  readonly notes: readonly ConfigProblem[];
  /** Secret files that do not exist yet (only with deferMissingSecretFiles), by the key that names them. */
  readonly deferredFiles: readonly { readonly path: string; readonly keyName: string }[];
}

/** The 1-based line of the key at `keyPath`, or of the nearest enclosing key that exists (none for a missing section). */
function lineOf(doc: Document, keyPath: readonly (string | number)[], lines: LineCounter): number | undefined {
  let node: unknown = doc.contents;
  let located: Node | null = null;
  for (const segment of keyPath) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
    if (!pair) break;
    located = isScalar(pair.key) ? pair.key : located;
    node = pair.value;
  }
  const offset = located?.range?.[0];
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function withLine(doc: Document, lines: LineCounter, problem: Omit<ConfigProblem, "line">): ConfigProblem {
  const line = lineOf(doc, problem.keyPath, lines);
  return line === undefined ? problem : { ...problem, line };
}

/** Validates config text; never throws for bad input, returns the problems instead. */
export function analyseConfig(text: string, options: LoadOptions = {}): ConfigAnalysis {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors.map((err): ConfigProblem => {
    const line = lines.linePos(err.pos[0]).line;
    return { path: "", keyPath: [], message: `YAML syntax error: ${err.message.split("\n")[0]}`, line };
  });
  if (syntax.length > 0) return { config: null, problems: syntax, notes: [], deferredFiles: [] };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { config: null, problems: [{ path: "", keyPath: [], message: `YAML cannot be read: ${message}` }], notes: [], deferredFiles: [] };
  }
  // An empty file is an empty mapping: the problems then list each required key.
  raw ??= {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    const message = `the file must hold a mapping of sections (homeserver, appservice, bridge, gatekeeper, database, metrics, provisioning, logging), got ${describeValue(raw)}`;
    return { config: null, problems: [{ path: "", keyPath: [], message }], notes: [], deferredFiles: [] };
  }

  const context: SchemaContext = {
    baseDir: options.baseDir ?? process.cwd(),
    env: options.env ?? process.env,
    deferMissingFiles: options.deferMissingSecretFiles ?? false,
    notes: [],
    deferredFiles: [],
  };
  const schema = buildConfigSchema(context);
  const result = schema.safeParse(raw, { reportInput: true, error: configErrorMap });
  const notes = context.notes.map((note) => withLine(doc, lines, { path: formatPath(note.keyPath), keyPath: note.keyPath, message: note.message }));
  const deferredFiles = context.deferredFiles.map((file) => ({ path: file.path, keyName: formatPath(file.keyPath) }));
  if (result.success) return { config: result.data, problems: [], notes, deferredFiles };
  const problems = issuesToProblems(result.error.issues, schema).map((problem) => withLine(doc, lines, problem));
  return { config: null, problems, notes, deferredFiles };
}

/** Reads and validates a config file; a missing or unreadable file is reported as a problem. */
export function analyseConfigFile(path: string, options: LoadOptions = {}): ConfigAnalysis {
  const file = readOwnFile(path, "config");
  if ("problem" in file) return { config: null, problems: [{ path: "", keyPath: [], message: file.problem }], notes: [], deferredFiles: [] };
  return analyseConfig(file.text, { baseDir: dirname(resolve(path)), ...options });
}

function unwrap(analysis: ConfigAnalysis, sourceName: string): BridgeConfig {
  if (!analysis.config) throw new ConfigError(sourceName, analysis.problems);
  return analysis.config;
}

/** Parses config text; throws a ConfigError listing every problem. Relative paths resolve against options.baseDir or the cwd. */
export function parseConfig(text: string, sourceName: string, options: LoadOptions = {}): BridgeConfig {
  return unwrap(analyseConfig(text, options), sourceName);
}

/** Loads a config file; throws a ConfigError listing every problem. Relative paths resolve against the file's directory. */
export function loadConfig(path: string, options: LoadOptions = {}): BridgeConfig {
  return unwrap(analyseConfigFile(path, options), path);
}
