// The appservice registration file: what the homeserver is told about the bridge. It is generated from
// the config and is the single source of the two shared tokens, so regenerating it keeps them unless
// asked to rotate.
import { randomBytes } from "node:crypto";
import { isMap, LineCounter, parseDocument, stringify } from "yaml";
import * as z from "zod";
import { ConfigError } from "./errors.js";
import { readOwnFile } from "./read-file.js";
import { botUserId, escapeRegex, puppetUserIdRegex, type IdentityConfig } from "./identities.js";
import { configErrorMap, expecting, issuesToProblems } from "./problems.js";

export interface NamespaceEntry {
  exclusive: boolean;
  regex: string;
}

export interface Registration {
  id: string;
  url: string;
  as_token: string;
  hs_token: string;
  sender_localpart: string;
  rate_limited: boolean;
  namespaces: { users: NamespaceEntry[]; aliases: NamespaceEntry[]; rooms: NamespaceEntry[] };
  /** Typing, receipts and presence in transactions (stable since Matrix 1.x, formerly MSC2409). */
  receive_ephemeral: boolean;
  /** The MSC2409 name older Synapse versions read. */
  "de.sorunome.msc2409.push_ephemeral": boolean;
  /** To-device events, device list changes and one-time key counts in transactions, needed for E2EE. */
  "org.matrix.msc3202": boolean;
  /** Lets the bridge create devices for its users (one per puppet) without logging in. */
  "io.element.msc4190": boolean;
}

export interface RegistrationConfig extends IdentityConfig {
  readonly appservice: IdentityConfig["appservice"] & { readonly id: string; readonly url: string };
}

/** 48 random bytes as base64url: 64 characters, 384 bits. */
export function generateToken(): string {
  return randomBytes(48).toString("base64url");
}

/** Tokens worth keeping: non-empty and free of whitespace (the sample file ships empty ones). */
function isUsableToken(token: string | undefined): token is string {
  return token !== undefined && /^[\x21-\x7E]+$/.test(token);
}

export function generateRegistration(
  config: RegistrationConfig,
  existing?: Pick<Registration, "as_token" | "hs_token"> | null,
  options: { rotate?: boolean } = {},
): Registration {
  const keep = !options.rotate && existing != null && isUsableToken(existing.as_token) && isUsableToken(existing.hs_token);
  return {
    id: config.appservice.id,
    url: config.appservice.url,
    as_token: keep ? existing.as_token : generateToken(),
    hs_token: keep ? existing.hs_token : generateToken(),
    sender_localpart: config.appservice.bot_localpart,
    rate_limited: false,
    namespaces: {
      users: [
        { exclusive: true, regex: puppetUserIdRegex(config) },
        { exclusive: true, regex: `^${escapeRegex(botUserId(config))}$` },
      ],
      aliases: [],
      rooms: [],
    },
    receive_ephemeral: true,
    "de.sorunome.msc2409.push_ephemeral": true,
    "org.matrix.msc3202": true,
    "io.element.msc4190": true,
  };
}

export function renderRegistration(registration: Registration): string {
  return stringify(registration, { lineWidth: 0 });
}

const namespaceList = z
  .array(z.strictObject({ exclusive: expecting(z.boolean(), "true or false"), regex: expecting(z.string().min(1), "a regular expression") }))
  .default([]);

// Homeservers accept keys we do not generate (e.g. "protocols"), so unknown keys are tolerated here.
const registrationSchema = z.looseObject({
  id: expecting(z.string().min(1), "the appservice ID"),
  url: expecting(z.string().min(1), "the URL the homeserver pushes transactions to"),
  as_token: expecting(z.string(), "the appservice token", { secret: true }),
  hs_token: expecting(z.string(), "the homeserver token", { secret: true }),
  sender_localpart: expecting(z.string().min(1), "the bot's localpart"),
  rate_limited: expecting(z.boolean(), "true or false").default(false),
  namespaces: z.looseObject({ users: namespaceList, aliases: namespaceList, rooms: namespaceList }).prefault({}),
  receive_ephemeral: expecting(z.boolean(), "true or false").default(false),
  "de.sorunome.msc2409.push_ephemeral": expecting(z.boolean(), "true or false").default(false),
  "org.matrix.msc3202": expecting(z.boolean(), "true or false").default(false),
  "io.element.msc4190": expecting(z.boolean(), "true or false").default(false),
});

export interface ParseRegistrationOptions {
  /** Accept empty tokens (the shipped sample); the bridge itself must never run with them. */
  readonly allowEmptyTokens?: boolean;
}

export function parseRegistration(text: string, sourceName: string, options: ParseRegistrationOptions = {}): Registration {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      doc.errors.map((err) => ({ path: "", keyPath: [], message: `YAML syntax error: ${err.message.split("\n")[0]}`, line: lines.linePos(err.pos[0]).line })),
    );
  }
  if (!isMap(doc.contents)) throw new ConfigError(sourceName, [{ path: "", keyPath: [], message: "the file must hold a mapping of registration keys" }]);
  const result = registrationSchema.safeParse(doc.toJS(), { reportInput: true, error: configErrorMap });
  if (!result.success) throw new ConfigError(sourceName, issuesToProblems(result.error.issues, registrationSchema));
  const registration = result.data as Registration;
  if (!options.allowEmptyTokens) {
    const problems = (["as_token", "hs_token"] as const)
      .filter((key) => !isUsableToken(registration[key]))
      .map((key) => ({ path: key, keyPath: [key], message: "is empty or contains whitespace; run generate-registration to create tokens" }));
    if (problems.length > 0) throw new ConfigError(sourceName, problems);
  }
  return registration;
}

/** Reads a registration file; throws a ConfigError when it is missing or invalid. */
export function loadRegistration(path: string, options: ParseRegistrationOptions = {}): Registration {
  const file = readOwnFile(path, "registration", "; create it with generate-registration");
  if ("problem" in file) throw new ConfigError(path, [{ path: "", keyPath: [], message: file.problem }]);
  return parseRegistration(file.text, path, options);
}

/**
 * How `registration` differs from what the config would generate, one line per difference. The
 * homeserver only reads the registration when it starts, so any difference means the two disagree.
 */
export function registrationMismatches(config: RegistrationConfig, registration: Registration): string[] {
  const expected = generateRegistration(config, registration);
  const differences: string[] = [];
  for (const key of ["id", "url", "sender_localpart"] as const) {
    if (registration[key] !== expected[key]) {
      differences.push(`${key}: the registration has ${JSON.stringify(registration[key])}, the config gives ${JSON.stringify(expected[key])}`);
    }
  }
  const present = new Set(registration.namespaces.users.filter((entry) => entry.exclusive).map((entry) => entry.regex));
  for (const entry of expected.namespaces.users) {
    if (!present.has(entry.regex)) differences.push(`namespaces.users: the exclusive regex ${JSON.stringify(entry.regex)} is missing`);
  }
  for (const key of ["receive_ephemeral", "org.matrix.msc3202", "io.element.msc4190"] as const) {
    if (!registration[key]) differences.push(`${key}: must be true`);
  }
  return differences;
}
