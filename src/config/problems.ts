// Turns zod issues into messages an operator can act on: "key.path: must be <expected>, got <given>".
// zod's own texts ("Invalid input: expected number, received string") name neither the key's meaning
// nor the accepted range, so every field registers a plain-language description of what it accepts.
import * as z from "zod";

export interface ConfigProblem {
  /** Dotted key path, e.g. `appservice.port` or `bridge.permissions["@a:b"]`; empty for the whole file. */
  readonly path: string;
  readonly keyPath: readonly (string | number)[];
  readonly message: string;
  /** 1-based line in the source file, when known. */
  readonly line?: number;
}

export function problemToString(problem: ConfigProblem): string {
  const where = problem.line === undefined ? "" : ` (line ${problem.line})`;
  return problem.path === "" ? `${problem.message}${where}` : `${problem.path}: ${problem.message}${where}`;
}

interface FieldDescription {
  /** Noun phrase completing "must be …", e.g. "an integer 1-65535". */
  readonly expected: string;
  /** Secret fields never echo the value they were given. */
  readonly secret?: boolean;
}

const descriptions = z.registry<FieldDescription>();

/** Attaches the plain-language description used in every error about `schema`. */
export function expecting<T extends z.ZodType>(schema: T, expected: string, options: { secret?: boolean } = {}): T {
  descriptions.add(schema, { expected, ...options });
  return schema;
}

/** A short, safe rendering of a value someone wrote into the config. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return `the date ${value.toISOString()}`;
  if (typeof value === "object") return "a mapping";
  return typeof value;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping",
  record: "a mapping",
  array: "a list",
};

function genericExpectation(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "too_small":
      return issue.origin === "string" ? `at least ${issue.minimum} characters long` : `at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "string" ? `at most ${issue.maximum} characters long` : `at most ${issue.maximum}`;
    default:
      return "a valid value";
  }
}

function describedBy(issue: z.core.$ZodRawIssue): FieldDescription | undefined {
  for (const candidate of [issue.schema, issue.inst]) {
    if (candidate && descriptions.has(candidate as z.ZodType)) return descriptions.get(candidate as z.ZodType);
  }
  return undefined;
}

/** zod error map: only consulted for issues that carry no explicit message. */
export function configErrorMap(issue: z.core.$ZodRawIssue): string {
  if (issue.code === "unrecognized_keys") return "unknown key";
  const description = describedBy(issue);
  const expected = description?.expected ?? genericExpectation(issue);
  if (issue.input === undefined) return `is missing; expected ${expected}`;
  if (description?.secret) return `must be ${expected}`;
  return `must be ${expected}, got ${describeValue(issue.input)}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function normalisePath(path: readonly PropertyKey[]): (string | number)[] {
  return path.map((segment) => (typeof segment === "number" ? segment : String(segment)));
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function closestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(unknown.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(unknown.length / 3)) ? best : undefined;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
}

/** The keys an object schema accepts at `path`, seen through defaults, optionals and transforms. */
function knownKeysAt(root: z.ZodType, path: readonly (string | number)[]): string[] {
  let schema: z.ZodType | undefined = root;
  let remaining = [...path];
  while (schema) {
    const def = schema.def as unknown as SchemaDef;
    if (def.innerType) schema = def.innerType;
    else if (def.type === "pipe" && def.in) schema = def.in;
    else if (def.type === "object" && def.shape) {
      if (remaining.length === 0) return Object.keys(def.shape);
      const next = remaining[0];
      remaining = remaining.slice(1);
      schema = typeof next === "string" ? def.shape[next] : undefined;
    } else return [];
  }
  return [];
}

/** One problem per issue, and one per unknown key so that each typo is named on its own. */
export function issuesToProblems(issues: readonly z.core.$ZodIssue[], root: z.ZodType): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    const keyPath = normalisePath(issue.path);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(root, keyPath);
      for (const key of issue.keys) {
        const suggestion = closestKey(key, known);
        const hint = suggestion ? `did you mean "${suggestion}"?` : `expected one of: ${known.join(", ")}`;
        const fullPath = [...keyPath, key];
        problems.push({ path: formatPath(fullPath), keyPath: fullPath, message: `unknown key; ${hint}` });
      }
      continue;
    }
    problems.push({ path: formatPath(keyPath), keyPath, message: issue.message });
  }
  return problems;
}
