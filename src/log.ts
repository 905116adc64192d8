// Logging for bridge and tools: pino, JSON by default, a compact line format for humans.
// Message contents and credentials are redacted by field name so that they cannot leak by accident. Phone numbers
// are not structural (they hide in puppet IDs, request paths and error messages), so at info level and above every
// string of every line is masked on its way out; debug and trace keep them, for a developer chasing one chat.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export interface LogOptions {
  readonly level: "trace" | "debug" | "info" | "warn" | "error";
  readonly format: "json" | "pretty";
  /** Shown in every line, e.g. "matrix-dma-bridge" or "dma-gatekeeper". */
  readonly name?: string;
}

/** Field names whose values are never written, at any depth up to three levels. */
export const REDACTED_FIELDS = ["body", "text", "ciphertext", "plaintext", "token", "as_token", "hs_token", "access_token", "password"] as const;
const REDACT_PATHS = REDACTED_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]);
export const REDACTED = "[redacted]";

const LEVEL_LABELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const OMITTED_IN_PRETTY = new Set(["level", "time", "pid", "hostname", "name", "msg", "err"]);

function formatValue(value: unknown): string {
  return typeof value === "string" && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
}

/** One pino JSON line as "HH:MM:SS.mmm LEVEL name: message key=value", with an error's stack below. */
export function formatPrettyLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith("\n") ? jsonLine : `${jsonLine}\n`;
  }
  const time = typeof record.time === "number" ? new Date(record.time).toISOString().slice(11, 23) : "--:--:--.---";
  const level = typeof record.level === "number" ? (LEVEL_LABELS[record.level] ?? String(record.level)) : String(record.level).toUpperCase();
  const name = typeof record.name === "string" ? `${record.name}: ` : "";
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED_IN_PRETTY.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  let line = `${time} ${level.padEnd(5)} ${name}${String(record.msg ?? "")}${fields.length ? ` ${fields.join(" ")}` : ""}`;
  const err = record.err as { message?: unknown; stack?: unknown } | undefined;
  if (err && typeof err === "object") {
    line += typeof err.stack === "string" ? `\n    ${err.stack.split("\n").join("\n    ")}` : ` err=${formatValue(err.message)}`;
  }
  return `${line}\n`;
}

function prettyStream(out: { write(chunk: string): unknown }, mask: (line: string) => string): DestinationStream {
  return { write: (line: string) => void out.write(formatPrettyLine(mask(line))) };
}

function maskStrings(value: unknown): unknown {
  if (typeof value === "string") return redactDigits(value);
  if (Array.isArray(value)) return value.map(maskStrings);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskStrings(v)]));
  return value;
}

/** One JSON line with the phone numbers in its strings masked; numbers (time, pid) are left as they are. */
export function maskLine(jsonLine: string): string {
  try {
    return `${JSON.stringify(maskStrings(JSON.parse(jsonLine)))}\n`;
  } catch {
    return redactDigits(jsonLine);
  }
}

/**
 * A logger for `options`; writes to stdout unless `destination` is given (tests pass a collector).
 * In pretty format `destination` receives formatted lines, otherwise JSON lines.
 */
export function createLogger(options: LogOptions, destination?: { write(chunk: string): unknown }): Logger {
  const out = destination ?? process.stdout;
  const mask = options.level === "debug" || options.level === "trace" ? (line: string) => line : maskLine;
  const stream: DestinationStream = options.format === "pretty" ? prettyStream(out, mask) : { write: (line: string) => void out.write(mask(line)) };
  return pino(
    {
      level: options.level,
      ...(options.name ? { name: options.name } : {}),
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    stream,
  );
}

/**
 * "+49151*****678" for "+4915112345678": enough to tell numbers apart in logs, too little to dial.
 * At least three digits, and never fewer than a third, stay hidden; input that is no E.164 number is
 * hidden entirely.
 */
export function redactPhone(e164: string): string {
  const match = /^\+([0-9]{1,15})$/.exec(e164);
  if (!match?.[1]) return "[phone]";
  const digits = match[1];
  const n = digits.length;
  const hidden = Math.max(3, Math.ceil(n / 3));
  const tail = Math.min(3, Math.max(0, Math.floor((n - hidden) / 2)));
  const head = Math.min(5, n - hidden - tail);
  return `+${digits.slice(0, head)}${"*".repeat(n - head - tail)}${digits.slice(n - tail)}`;
}

/** Masks the number in a tel: URI (parameters dropped); other URIs, such as matrix: ones, are returned as they are. */
export function redactUri(uri: string): string {
  if (!uri.toLowerCase().startsWith("tel:")) return uri;
  const number = uri.slice(4).split(";")[0] ?? "";
  return `tel:${redactPhone(number)}`;
}

/**
 * Masks every run of 7 to 15 digits (a phone number, also inside a puppet's user ID such as @wa_4915112345678:x) as
 * redactPhone does, for log fields that may name a contact: "@wa_49151*****678:example.org".
 */
export function redactDigits(text: string): string {
  // A bare run must not sit inside a hex string (event IDs, hashes); one after "+" or a URL-encoded "+" (%2B, as in
  // a request path naming tel:+…) is a number wherever it stands.
  return text.replace(/(?:\+|%2[Bb])[0-9]{7,15}(?![0-9A-Fa-f])|(?<![0-9A-Fa-f])[0-9]{7,15}(?![0-9A-Fa-f])/g, (run) => {
    const prefix = run.startsWith("+") ? "+" : run.startsWith("%") ? run.slice(0, 3) : "";
    return prefix + redactPhone(`+${run.slice(prefix.length)}`).slice(1);
  });
}
