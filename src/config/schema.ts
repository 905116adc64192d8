// The bridge configuration: its shape, defaults and validation rules. Keys are snake_case as in YAML.
// The schema is built per load because secret fields and relative paths are resolved against the
// config file's directory and the process environment while validating, so all problems surface at once.
import { isIP } from "node:net";
import { resolve } from "node:path";
import { isSupportedCountry, type CountryCode } from "libphonenumber-js";
import * as z from "zod";
import { isLocalpart, isServerName, MAX_USER_ID_LENGTH, parseUserId } from "../matrix/ids.js";
import { botUserId, DIGITS_PLACEHOLDER } from "./identities.js";
import { describeValue, expecting } from "./problems.js";
import { providerKeyProblem } from "./provider-key.js";
import { resolveSecret, type SecretContext } from "./secrets.js";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
export const LOG_FORMATS = ["json", "pretty"] as const;
export const IDENTITY_CHANGE_POLICIES = ["warn", "block_until_verified"] as const;
export type IdentityChangePolicy = (typeof IDENTITY_CHANGE_POLICIES)[number];

export const REACHABILITY_SETTINGS = ["everyone", "contacts", "nobody"] as const;
export const KEY_SHARING_POLICIES = ["all", "cross_signed"] as const;
export const OVER_LIMIT_POLICIES = ["hold", "refuse"] as const;
export type OverLimitPolicy = (typeof OVER_LIMIT_POLICIES)[number];

export const ROLES = ["user", "admin"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];
export type Role = (typeof ROLES)[number];

/** A number used to try out templates: long enough to catch length limits, real enough to format. */
export const SAMPLE_E164 = "+4915112345678";
export const MAX_MEDIA_SIZE_MB = 4096;

export interface SchemaContext extends SecretContext {
  /** Hints that do not make the config invalid (e.g. a secret file readable by others). */
  readonly notes: { keyPath: (string | number)[]; message: string }[];
  /** Secret files that do not exist yet (only collected when `deferMissingFiles` is set). */
  readonly deferredFiles: { keyPath: (string | number)[]; path: string }[];
}

/** A missing section is validated as an empty one, so that errors name each missing required key. */
function section<T extends z.ZodObject>(schema: T) {
  return schema.prefault({} as z.input<T>);
}

const httpUrl = () =>
  expecting(
    z.string().refine((text) => {
      try {
        const url = new URL(text);
        return (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password && !url.search && !url.hash;
      } catch {
        return false;
      }
    }),
    "an http:// or https:// URL without query, fragment or credentials",
  ).transform((text) => new URL(text).href.replace(/\/+$/, ""));

const localpart = () =>
  expecting(z.string().refine(isLocalpart), "a Matrix localpart (lowercase a-z, 0-9 and . _ = - / +)");

const nonEmptyText = (max: number) => expecting(z.string().trim().min(1).max(max), `non-empty text of at most ${max} characters`);

const identifier = () =>
  expecting(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), "an identifier of letters, digits, '.', '_' or '-' (at most 64 characters)");

function filePath(context: SchemaContext, defaultPath: string, options: { memory?: boolean } = {}) {
  return expecting(z.string().trim().min(1), "a file path")
    .default(defaultPath)
    // ":memory:" is SQLite's name for a throwaway database (tests, demos), not a file.
    .transform((path) => (options.memory && path === ":memory:" ? path : resolve(context.baseDir, path)));
}

const bindAddress = () =>
  expecting(
    z.string().refine((text) => isIP(text) !== 0 || /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(text)),
    "an IP address or host name to listen on",
  );

/** An inline secret that is surely a forgotten `file:`: one word that starts like a path or ends in a key file's suffix. */
function looksLikePath(text: string): boolean {
  const word = text.trim();
  return !/\s/.test(word) && !word.includes("-----") && (/^(?:\.{1,2}\/|\/|~\/)/.test(word) || /\.(?:pem|key|der)$/i.test(word));
}

export const DEFAULT_METRICS_LISTEN = "127.0.0.1:29341";
export const DEFAULT_PROVISIONING_LISTEN = "127.0.0.1:29342";

function sharedSecret(context: SchemaContext) {
  return expecting(z.string(), "a secret of at least 32 characters, env:NAME or file:/path", { secret: true }).transform((text, ctx) => {
    const outcome = resolveSecret(text, context);
    if (outcome.ok !== true) {
      ctx.issues.push({ code: "custom", input: text, message: outcome.ok === false ? outcome.problem : outcome.note });
      return z.NEVER;
    }
    if (outcome.value.length < 32) {
      ctx.issues.push({ code: "custom", input: text, message: "is shorter than 32 characters; use a long random string (e.g. openssl rand -hex 32)" });
      return z.NEVER;
    }
    return outcome.value;
  });
}

/** "host:port" (an IPv6 host in brackets) as a bind address and port, or null. */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return null;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  if (match[1] !== undefined ? isIP(host) !== 6 : isIP(host) === 0 && !/^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(host)) return null;
  return { host, port };
}

function providerKey(context: SchemaContext) {
  return expecting(z.string(), "file:/path/to/key.pem, env:NAME or the PEM text itself", { secret: true }).transform(
    (text, ctx) => {
      const keyPath = ["gatekeeper", "provider_key"];
      const outcome = resolveSecret(text, context);
      if (outcome.ok === "deferred") {
        context.deferredFiles.push({ keyPath, path: outcome.path });
        context.notes.push({ keyPath, message: `${outcome.note}; generate-registration creates it` });
        return "";
      }
      if (!outcome.ok) {
        ctx.issues.push({ code: "custom", input: text, message: outcome.problem });
        return z.NEVER;
      }
      if (outcome.note) context.notes.push({ keyPath, message: outcome.note });
      const problem = providerKeyProblem(outcome.value);
      if (problem) {
        const inline = !text.startsWith("file:") && !text.startsWith("env:");
        const where = inline ? "the key" : `the key from ${text}`;
        const hint = inline && looksLikePath(text) ? `; did you mean file:${text.trim()}?` : "";
        ctx.issues.push({ code: "custom", input: text, message: `${where} ${problem}${hint}` });
        return z.NEVER;
      }
      return outcome.value;
    },
  );
}

/** A PostgreSQL URL; it carries a password, so like other secrets it may be given as env:NAME or file:/path. */
function databaseUrl(context: SchemaContext) {
  return expecting(z.string(), "postgres://user:password@host:5432/database, env:NAME or file:/path", { secret: true }).transform((text, ctx) => {
    const outcome = resolveSecret(text, context);
    if (outcome.ok !== true) {
      ctx.issues.push({ code: "custom", input: text, message: outcome.ok === false ? outcome.problem : outcome.note });
      return z.NEVER;
    }
    const url = outcome.value.trim();
    if (!/^postgres(?:ql)?:\/\/[^\s]+$/i.test(url)) {
      ctx.issues.push({ code: "custom", input: text, message: "is not a postgres:// URL (postgres://user:password@host:5432/database)" });
      return z.NEVER;
    }
    return url;
  });
}

/** Why a puppet localpart template is unusable, or null. */
export function puppetTemplateProblem(template: string): string | null {
  const shown = describeValue(template);
  const occurrences = template.split(DIGITS_PLACEHOLDER).length - 1;
  if (occurrences !== 1) return `must contain ${DIGITS_PLACEHOLDER} exactly once, got ${shown}`;
  const other = /\{[^}]*\}/.exec(template.replace(DIGITS_PLACEHOLDER, ""));
  if (other) return `has the unknown placeholder ${other[0]} (only ${DIGITS_PLACEHOLDER} is allowed), got ${shown}`;
  const sample = template.replace(DIGITS_PLACEHOLDER, SAMPLE_E164.slice(1));
  if (!isLocalpart(sample)) {
    return `must yield a Matrix localpart (lowercase a-z, 0-9 and . _ = - / +), but gives ${JSON.stringify(sample)} for ${SAMPLE_E164}`;
  }
  return null;
}

/** Why a puppet display name template is unusable, or null. */
export function displaynameTemplateProblem(template: string): string | null {
  const shown = describeValue(template);
  const unknown = /\{(?!name\}|phone\})[^}]*\}/.exec(template);
  if (unknown) return `has the unknown placeholder ${unknown[0]} (allowed: {name}, {phone}), got ${shown}`;
  if (!template.includes("{name}") && !template.includes("{phone}")) {
    return `must contain {name} or {phone}, otherwise every puppet gets the same name; got ${shown}`;
  }
  return null;
}

function permissionKeyProblem(key: string): string | null {
  if (key === "*") return null;
  if (key.startsWith("@")) return parseUserId(key) ? null : "is not a valid Matrix user ID (expected @localpart:server)";
  return isServerName(key) ? null : `must be "*", a server name (example.org) or a user ID (@alice:example.org)`;
}

export function buildConfigSchema(context: SchemaContext) {
  const homeserver = section(
    z.strictObject({
      url: httpUrl(),
      domain: expecting(z.string().refine(isServerName), "a Matrix server name such as example.org"),
    }),
  );

  const appservice = z
    .strictObject({
      id: identifier().default("dma-bridge"),
      bind_address: bindAddress().default("127.0.0.1"),
      port: expecting(z.int().min(1).max(65535), "an integer 1-65535").default(29340),
      url: httpUrl().optional(),
      registration: filePath(context, "./registration.yaml"),
      bot_localpart: localpart().default("whatsappbot"),
      bot_displayname: nonEmptyText(256).default("WhatsApp bridge bot"),
    })
    .prefault({})
    .superRefine((values, ctx) => {
      if (values.url === undefined && (values.bind_address === "0.0.0.0" || values.bind_address === "::")) {
        ctx.addIssue({
          code: "custom",
          path: ["url"],
          message: `is required when bind_address is ${JSON.stringify(values.bind_address)}: the homeserver cannot reach a wildcard address`,
        });
      }
    })
    .transform((values) => {
      const host = isIP(values.bind_address) === 6 ? `[${values.bind_address}]` : values.bind_address;
      return { ...values, url: values.url ?? `http://${host}:${values.port}` };
    });

  const encryption = z
    .strictObject({
      default: expecting(z.boolean(), "true or false").default(true),
      allow: expecting(z.boolean(), "true or false").default(true),
      max_key_wait_seconds: expecting(z.number().positive().max(7 * 24 * 3600), "a number of seconds above 0 and at most a week").default(600),
      // Which Matrix devices get the room keys of the bridge's puppets: all, or only those their owner cross-signed.
      share_keys_with: expecting(z.enum(KEY_SHARING_POLICIES), `"all" or "cross_signed"`).default("all"),
      max_open_devices: expecting(z.number().int().min(1).max(100_000), "a whole number from 1 to 100000").default(128),
    })
    .prefault({})
    .superRefine((values, ctx) => {
      if (values.default && !values.allow) {
        ctx.addIssue({ code: "custom", path: ["default"], message: "cannot be true while allow is false" });
      }
    });

  // What one Matrix user may do through the bridge; 0 turns a limit off.
  const limits = z
    .strictObject({
      messages_per_minute: expecting(z.int().min(0).max(100_000), "a whole number from 0 (no limit) to 100000").default(60),
      new_portals_per_hour: expecting(z.int().min(0).max(100_000), "a whole number from 0 (no limit) to 100000").default(30),
      // Messages over the limit: held in the outbox and sent when the minute allows, or refused with a notice.
      messages_over_limit: expecting(z.enum(OVER_LIMIT_POLICIES), `"hold" or "refuse"`).default("hold"),
      // Per remote sender, over all of this bridge's users: envelopes over either are refused back (RATE_LIMITED).
      sender_messages_per_minute: expecting(z.int().min(0).max(100_000), "a whole number from 0 (no limit) to 100000").default(200),
      sender_new_chats_per_hour: expecting(z.int().min(0).max(100_000), "a whole number from 0 (no limit) to 100000").default(20),
    })
    .prefault({});

  // Registered after superRefine: refining clones the schema, and issues name the clone.
  const permissions = expecting(
    z.record(z.string(), expecting(z.enum(ROLES), `"user" or "admin"`)).superRefine((map, ctx) => {
      const keys = Object.keys(map);
      if (keys.length === 0) {
        ctx.addIssue({ code: "custom", message: 'is empty: nobody could use the bridge; add e.g. "example.org": user' });
      }
      for (const key of keys) {
        const problem = permissionKeyProblem(key);
        if (problem) ctx.addIssue({ code: "custom", path: [key], message: `the key ${JSON.stringify(key)} ${problem}` });
      }
    }),
    `a mapping of "*", server names or user IDs to "user" or "admin"`,
  );

  const bridge = section(
    z.strictObject({
      network_name: nonEmptyText(64).default("WhatsApp"),
      puppet_localpart_template: expecting(z.string(), `a localpart template containing ${DIGITS_PLACEHOLDER}`)
        .default("wa_{digits}")
        .superRefine((template, ctx) => {
          const problem = puppetTemplateProblem(template);
          if (problem) ctx.addIssue({ code: "custom", input: template, message: problem });
        }),
      puppet_displayname_template: expecting(z.string(), "a display name template using {name} and/or {phone}")
        .default("{name} (WhatsApp)")
        .superRefine((template, ctx) => {
          const problem = displaynameTemplateProblem(template);
          if (problem) ctx.addIssue({ code: "custom", input: template, message: problem });
        }),
      default_country: expecting(
        z.string().trim().toUpperCase().refine((code) => isSupportedCountry(code)),
        "an ISO 3166 alpha-2 country code with a phone numbering plan, such as DE",
      )
        .transform((code) => code as CountryCode)
        .nullable()
        .default(null),
      encryption,
      send_read_receipts: expecting(z.boolean(), "true or false").default(true),
      message_status_events: expecting(z.boolean(), "true or false").default(false),
      max_media_size_mb: expecting(z.number().positive().max(MAX_MEDIA_SIZE_MB), `a number of megabytes above 0 and at most ${MAX_MEDIA_SIZE_MB}`).default(100),
      // When a contact's security code changes: always warn in the portal; with block_until_verified, also hold the
      // user's messages to a contact they had verified until they verify the new code.
      identity_change: expecting(z.enum(IDENTITY_CHANGE_POLICIES), `"warn" or "block_until_verified"`).default("warn"),
      // First messages from a number the user never chatted with wait as a request in the management room.
      message_requests: expecting(z.enum(["on", "off"]), `"on" or "off"`).default("on"),
      message_request_expiry_hours: expecting(z.number().positive().max(365 * 24), "a number of hours above 0 and at most a year").default(7 * 24),
      message_request_max_held: expecting(z.int().min(1).max(1000), "a whole number from 1 to 1000").default(20),
      // Each user's portals and management room as children of a space named for the network.
      personal_space: expecting(z.boolean(), "true or false").default(true),
      // Who may write to a user who has not chosen (the `reachable` command): everyone, their contacts, nobody.
      default_reachable: expecting(z.enum(REACHABILITY_SETTINGS), `"everyone", "contacts" or "nobody"`).default("everyone"),
      // Flood limits per Matrix user and per remote sender, counted by the bridge (the gatekeeper limits each sender
      // again on its side).
      limits,
      permissions,
    }),
  );

  const gatekeeper = section(
    z.strictObject({
      url: httpUrl(),
      provider_id: identifier(),
      provider_key: providerKey(context),
    }),
  );

  // `url` (PostgreSQL) or `path` (SQLite); `type` may be left out, it follows from which is given.
  const database = z
    .strictObject({
      type: expecting(z.enum(["sqlite", "postgres"]), `"sqlite" or "postgres"`).optional(),
      path: filePath(context, "./data/bridge.db", { memory: true }),
      url: databaseUrl(context).optional(),
      max_connections: expecting(z.number().int().min(1).max(100), "a whole number from 1 to 100").default(8),
    })
    .prefault({})
    .superRefine((db, ctx) => {
      if (db.type === "postgres" && db.url === undefined) {
        ctx.addIssue({ code: "custom", path: ["url"], message: "is required when type is \"postgres\" (postgres://user:password@host:5432/database)" });
      }
      if (db.type === "sqlite" && db.url !== undefined) {
        ctx.addIssue({ code: "custom", path: ["url"], message: "is a PostgreSQL URL but type is \"sqlite\"; remove one of them" });
      }
    })
    .transform((db) => ({ ...db, type: db.type ?? (db.url !== undefined ? ("postgres" as const) : ("sqlite" as const)) }));

  // Prometheus metrics on a listener of their own: never on the appservice port, which the homeserver reaches and
  // which need not be reachable by a monitoring system (or the other way round).
  const metrics = z
    .strictObject({
      enabled: expecting(z.boolean(), "true or false").default(false),
      listen: expecting(z.string().refine((text) => parseListenAddress(text) !== null), "host:port to listen on, such as 127.0.0.1:29341 or [::]:29341")
        // Kept as written (a parsed config is written back out by tests and tools); run.ts parses it.
        .default(DEFAULT_METRICS_LISTEN),
    })
    .prefault({});

  // The provisioning API (integrations, client UIs), on a listener of its own, guarded by a shared secret.
  const provisioning = z
    .strictObject({
      enabled: expecting(z.boolean(), "true or false").default(false),
      listen: expecting(z.string().refine((text) => parseListenAddress(text) !== null), "host:port to listen on, such as 127.0.0.1:29342").default(DEFAULT_PROVISIONING_LISTEN),
      shared_secret: sharedSecret(context).optional(),
    })
    .prefault({})
    .superRefine((p, ctx) => {
      if (p.enabled && p.shared_secret === undefined) {
        ctx.addIssue({ code: "custom", path: ["shared_secret"], message: "is required when enabled is true (a random string of at least 32 characters; env: or file: keep it out of this file)" });
      }
    });

  const logging = z
    .strictObject({
      level: expecting(z.enum(LOG_LEVELS), LOG_LEVELS.map((l) => `"${l}"`).join(", ")).default("info"),
      format: expecting(z.enum(LOG_FORMATS), `"json" or "pretty"`).default("json"),
    })
    .prefault({});

  return z
    .strictObject({ homeserver, appservice, bridge, gatekeeper, database, metrics, provisioning, logging })
    .superRefine((config, ctx) => {
      const botId = botUserId(config);
      if (botId.length > MAX_USER_ID_LENGTH) {
        ctx.addIssue({ code: "custom", path: ["appservice", "bot_localpart"], message: `makes the bot's user ID longer than ${MAX_USER_ID_LENGTH} characters` });
      }
      // zod runs this check even when the template itself was refused (when that is the only problem); without
      // exactly one {digits} there is no namespace to check (found by `npm run fuzz`: a TypeError for "constructor").
      if (puppetTemplateProblem(config.bridge.puppet_localpart_template)) return;
      const longestPuppet = `@${config.bridge.puppet_localpart_template.replace(DIGITS_PLACEHOLDER, "9".repeat(15))}:${config.homeserver.domain}`;
      if (longestPuppet.length > MAX_USER_ID_LENGTH) {
        ctx.addIssue({ code: "custom", path: ["bridge", "puppet_localpart_template"], message: `makes puppet user IDs longer than ${MAX_USER_ID_LENGTH} characters` });
      }
      const [prefix, suffix] = config.bridge.puppet_localpart_template.split(DIGITS_PLACEHOLDER) as [string, string];
      const bot = config.appservice.bot_localpart;
      const middle = bot.slice(prefix.length, bot.length - suffix.length);
      if (bot.startsWith(prefix) && bot.endsWith(suffix) && /^[0-9]+$/.test(middle)) {
        ctx.addIssue({
          code: "custom",
          path: ["appservice", "bot_localpart"],
          message: `${JSON.stringify(bot)} falls inside the puppet namespace of bridge.puppet_localpart_template (${JSON.stringify(config.bridge.puppet_localpart_template)})`,
        });
      }
    });
}

/** The validated configuration, defaults applied, paths absolute, secrets resolved. */
export type BridgeConfig = z.output<ReturnType<typeof buildConfigSchema>>;
