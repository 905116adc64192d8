#!/usr/bin/env node
// dma-gatekeeper: runs the reference gatekeeper (`serve`) and drives a running one through its admin API.
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createLogger } from "../log.js";
import { audienceOf } from "./auth.js";
import { isLoopbackHost } from "./loopback.js";
import { AdminApiError, GatekeeperAdminClient, type ReceivedMessage, type SendMedia, type SendRequest } from "./admin-client.js";
import { ADMIN_TOKEN_FILE, ADMIN_URL_FILE, readAdminToken, readAdminUrl } from "./admin-token.js";
import { KIND_USAGE, KindUsageError, kindRequest, textExtras, wrapOf } from "./cli-kinds.js";

export const DEFAULT_PORT = 29400;
export const DEFAULT_ADMIN_PORT = 29401;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_DATA_DIR = "./gatekeeper-data";

const USAGE = `usage: dma-gatekeeper <command> [options]

  serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--data-dir ${DEFAULT_DATA_DIR}]
        [--admin-port ${DEFAULT_ADMIN_PORT}] [--admin-host ${DEFAULT_HOST}] [--public-url URL]
        [--max-connections N] [--admin-max-connections 64] [--headers-timeout-ms N] [--request-timeout-ms N] [--keep-alive-timeout-ms N]
        [--media-max-bytes N] [--rate-burst N] [--rate-per-second N] [--prekey-low N]
        [--sender-messages-per-minute 300] [--sender-new-chats-per-hour 50] (flood limits per sender; 0: off)
        [--suspend-after-reports K]        (suspend a user K distinct provider users reported; default: never)
        [--log-level info] [--log-format pretty|json]
  provider add --id ID --public-key B64URL --domain DOMAIN [--domain DOMAIN ...]
  provider list
  user add PHONE --name NAME [--devices N] [--no-opt-in] [--allow-provider ID ...] [--no-receipts]
  user list | user show PHONE | user messages PHONE [--json]
  user send PHONE --to URI|PHONE TEXT [--reply-to ID]
  user send PHONE --to URI|PHONE --file PATH [--kind image|video|audio|document] [--voice] [--caption TEXT]
        [--mime TYPE] [--name NAME] [--width N --height N] [--seconds N] [--waveform N,N,..] [--thumbnail JPEG]
        [--reply-to ID]                   (kind from the file extension unless given; --voice: a voice note)
  user media PHONE MESSAGE_ID [--out PATH] (the decrypted file of a received media message; default: its name)
  user send PHONE --to URI --react ID EMOJI     (empty EMOJI removes the reaction)
  user send PHONE --to URI --edit ID TEXT | --revoke ID | --read ID [ID ...] | --typing [composing|recording|paused]
${KIND_USAGE}
  user send PHONE --to URI --disappearing off|24h|7d|90d|SECONDS   (the chat's disappearing-messages timer)
        with TEXT or --file: [--expires-in 24h|7d|90d|SECONDS] (sent as in a chat with that timer)
  user watch PHONE [--json]
  user block PHONE URI | user unblock PHONE URI
  user opt-in PHONE [--allow-provider ID ...] | user opt-out PHONE
  user receipts PHONE on|off
  user profile PHONE [--name NAME] [--avatar MEDIA_ID|none]
  user add-device PHONE | user remove-device PHONE DEVICE
  user reset-identity PHONE [--device N]     (default: every device of the user)
  user suspend PHONE [REASON] | user unsuspend PHONE
  user reports PHONE                         (reports by provider users about PHONE)
  reports                                    (every report, oldest first)
  blocks URI                                 (whom the provider user URI has blocked)

serve listens on two ports: the interop endpoint (--port) and the admin API (--admin-port, loopback only).
--public-url is the base URL providers use, which their tokens must name as audience (default: http://HOST:PORT).

Admin commands talk to the admin API of a running server: --admin-url URL, else the URL the server wrote to
<--data-dir>/${ADMIN_URL_FILE}, else http://${DEFAULT_HOST}:${DEFAULT_ADMIN_PORT}. The admin token comes from
--admin-token-file, else $DMA_GATEKEEPER_ADMIN_TOKEN, else <--data-dir>/${ADMIN_TOKEN_FILE}.`;

class UsageError extends Error {}

const CLIENT_OPTIONS = {
  "admin-url": { type: "string" },
  // Gone: the admin API left the interop port. Parsed only to say so.
  server: { type: "string" },
  "data-dir": { type: "string" },
  "admin-token-file": { type: "string" },
  json: { type: "boolean" },
} as const satisfies ParseArgsConfig["options"];

function int(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer`);
  return Number(value);
}

/**
 * Joins `--opt VALUE` into `--opt=VALUE` when VALUE starts with "-" but names no option: node's parseArgs calls such a
 * value ambiguous, yet one base64url public key in 64 starts with "-", and a caption or name may too.
 */
export function joinDashValues(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const known = new Set(Object.keys(options).flatMap((name) => [`--${name}`, `--no-${name}`]));
  for (const o of Object.values(options)) if (o.short) known.add(`-${o.short}`);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = arg.startsWith("--") && !arg.includes("=") ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && next.startsWith("-") && next !== "--" && !known.has(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O) {
  const all = { ...CLIENT_OPTIONS, ...options };
  try {
    return parseArgs({ args: joinDashValues(args, all), options: all, allowPositionals: true, allowNegative: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function client(values: { "admin-url"?: string | undefined; server?: string | undefined; "data-dir"?: string | undefined; "admin-token-file"?: string | undefined }): GatekeeperAdminClient {
  if (values.server !== undefined) {
    throw new UsageError("--server is gone: the admin API has its own loopback port now; use --admin-url (printed by `serve`), or --data-dir to find it");
  }
  const dataDir = values["data-dir"] ?? DEFAULT_DATA_DIR;
  const server = values["admin-url"] ?? readAdminUrl(dataDir) ?? `http://${DEFAULT_HOST}:${DEFAULT_ADMIN_PORT}`;
  let token: string;
  if (values["admin-token-file"]) token = readAdminToken(values["admin-token-file"]);
  else if (process.env.DMA_GATEKEEPER_ADMIN_TOKEN) token = process.env.DMA_GATEKEEPER_ADMIN_TOKEN.trim();
  else token = readAdminToken(join(dataDir, ADMIN_TOKEN_FILE));
  try {
    return new GatekeeperAdminClient(server, token);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

const KIND_BY_EXTENSION: Record<string, SendMedia["kind"]> = {
  ".jpg": "image", ".jpeg": "image", ".png": "image", ".gif": "image", ".webp": "image",
  ".mp4": "video", ".mov": "video", ".webm": "video", ".mkv": "video", ".3gp": "video",
  ".ogg": "audio", ".opus": "audio", ".oga": "audio", ".mp3": "audio", ".m4a": "audio", ".aac": "audio", ".wav": "audio", ".amr": "audio",
};

const MIME_BY_EXTENSION: Record<string, string> = {
  ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
  ".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm", ".mkv": "video/x-matroska", ".3gp": "video/3gpp",
  ".ogg": "audio/ogg", ".opus": "audio/ogg; codecs=opus", ".oga": "audio/ogg", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".wav": "audio/wav", ".amr": "audio/amr",
  ".pdf": "application/pdf", ".txt": "text/plain", ".zip": "application/zip",
};

const TIMER_WORDS: Record<string, number> = { off: 0, "24h": 86400, "1d": 86400, "7d": 604800, "90d": 7776000 };

/** A disappearing timer as typed: WhatsApp's choices by name, or whole seconds. */
export function timerSeconds(text: string, option: string): number {
  const named = TIMER_WORDS[text.trim().toLowerCase()];
  return named ?? int(text, option.replace(/^--/, ""), 0);
}

/** A send request of one of cli-kinds.ts's kinds; their usage mistakes become the CLI's. */
function kindOf(to: string, values: Parameters<typeof kindRequest>[1]): SendRequest | undefined {
  try {
    return kindRequest(to, values, (path) => mediaFromFile(path, { kind: "image", mime: "image/webp" }));
  } catch (err) {
    if (err instanceof KindUsageError) throw new UsageError(err.message);
    throw err;
  }
}

/** The media part of `user send --file ...`: reads the file and fills in what the options do not say. */
export function mediaFromFile(path: string, o: { kind?: string; voice?: boolean; caption?: string; mime?: string; name?: string; width?: string; height?: string; seconds?: string; waveform?: string; thumbnail?: string }): SendMedia {
  const ext = extname(path).toLowerCase();
  const kind = (o.kind ?? (o.voice ? "audio" : (KIND_BY_EXTENSION[ext] ?? "document"))) as SendMedia["kind"];
  if (!["image", "video", "audio", "document"].includes(kind)) throw new UsageError("--kind must be image, video, audio or document");
  if (o.voice && kind !== "audio") throw new UsageError("--voice sends a voice note, which is audio");
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --file ${path}: ${(err as Error).message}`);
  }
  const media: SendMedia = { kind, data: data.toString("base64") };
  const mime = o.mime ?? MIME_BY_EXTENSION[ext];
  if (mime) media.mimetype = mime;
  if (o.caption !== undefined) media.caption = o.caption;
  if (kind === "document") media.fileName = o.name ?? basename(path);
  if (o.width !== undefined) media.width = int(o.width, "width", 0);
  if (o.height !== undefined) media.height = int(o.height, "height", 0);
  if (o.seconds !== undefined) media.seconds = int(o.seconds, "seconds", 0);
  if (o.voice) media.ptt = true;
  if (o.waveform !== undefined) media.waveform = o.waveform.split(",").map((v) => int(v.trim(), "waveform", 0));
  if (o.thumbnail !== undefined) media.thumbnail = readFileSync(o.thumbnail).toString("base64");
  return media;
}

type MediaJson = { mimetype?: string; caption?: string; fileName?: string; seconds?: number; ptt?: boolean; width?: number; height?: number; isAnimated?: boolean };

function describeMedia(m: ReceivedMessage, c: Record<string, any>): string | undefined {
  const msg = c.message as Record<string, MediaJson> | undefined;
  if (!msg) return undefined;
  const kind = msg.imageMessage ? "image" : msg.videoMessage ? "video" : msg.audioMessage ? (msg.audioMessage.ptt ? "voice note" : "audio") : msg.documentMessage ? "file" : msg.stickerMessage ? (msg.stickerMessage.isAnimated ? "animated sticker" : "sticker") : undefined;
  if (!kind) return undefined;
  const x = (msg.imageMessage ?? msg.videoMessage ?? msg.audioMessage ?? msg.documentMessage ?? msg.stickerMessage)!;
  const facts = [x.mimetype, x.width && x.height ? `${x.width}x${x.height}` : undefined, x.seconds ? `${x.seconds} s` : undefined].filter(Boolean);
  const check = m.media === undefined ? "" : m.media.ok ? `, ${m.media.length} bytes, sha256 ${m.media.sha256!.slice(0, 16)}…` : `, REJECTED: ${m.media.error}`;
  return `${kind}${x.fileName ? ` "${x.fileName}"` : ""} (${facts.join(", ")}${check})${x.caption ? `: ${x.caption}` : ""}`;
}

/** One human line per received message: time, sender, and what it is. */
export function describeReceived(m: ReceivedMessage): string {
  const c = m.content as Record<string, any>;
  const time = new Date(m.receivedAt).toISOString().slice(11, 19);
  let what: string;
  if (c.undecryptable) what = `(undecryptable: ${c.undecryptable})`;
  else if (c.undecodable) what = `(undecodable: ${c.undecodable})`;
  else if (c.message?.conversation) what = c.message.conversation;
  else if (describeMedia(m, c) !== undefined) what = describeMedia(m, c)!;
  else if (c.message?.extendedTextMessage) what = `${c.message.extendedTextMessage.text}  (reply to ${c.message.extendedTextMessage.contextInfo?.stanzaId ?? "?"})`;
  else if (c.message?.reactionMessage) what = `reacted ${c.message.reactionMessage.text || "(removed)"} to ${c.message.reactionMessage.key?.id}`;
  else if (c.message?.ephemeralMessage?.message) what = `${describeReceived({ ...m, content: { message: c.message.ephemeralMessage.message } }).replace(/^.*?\]: /, "")}  (disappears after ${c.message.ephemeralMessage.message.extendedTextMessage?.contextInfo?.expiration ?? "?"} s)`;
  else if (c.message?.protocolMessage) {
    const p = c.message.protocolMessage;
    what = p.type === "MESSAGE_EDIT" ? `edited ${p.key?.id}: ${p.editedMessage?.conversation ?? ""}` : p.type === "EPHEMERAL_SETTING" ? `disappearing messages ${p.ephemeralExpiration ? `after ${p.ephemeralExpiration} s` : "off"}` : `deleted ${p.key?.id}`;
  } else if (c.receipt) what = `${String(c.receipt.type ?? "DELIVERED").toLowerCase()} receipt for ${(c.receipt.messageIds ?? []).join(", ")}`;
  else if (c.chatState) what = `${String(c.chatState.state ?? "COMPOSING").toLowerCase()}${c.chatState.audio ? " (voice)" : ""}`;
  else what = JSON.stringify(c);
  return `${time} ${m.sender}#${m.senderDevice} -> device ${m.deviceId} [${m.messageId}]${c.identityChanged ? " (new identity)" : ""}: ${what}`;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parse(args, {
    port: { type: "string" },
    host: { type: "string" },
    "admin-port": { type: "string" },
    "admin-host": { type: "string" },
    "public-url": { type: "string" },
    "max-connections": { type: "string" },
    "admin-max-connections": { type: "string" },
    "headers-timeout-ms": { type: "string" },
    "request-timeout-ms": { type: "string" },
    "keep-alive-timeout-ms": { type: "string" },
    "media-max-bytes": { type: "string" },
    "rate-burst": { type: "string" },
    "rate-per-second": { type: "string" },
    "prekey-low": { type: "string" },
    "sender-messages-per-minute": { type: "string" },
    "sender-new-chats-per-hour": { type: "string" },
    "suspend-after-reports": { type: "string" },
    "log-level": { type: "string" },
    "log-format": { type: "string" },
  });
  const level = values["log-level"] ?? "info";
  if (!["trace", "debug", "info", "warn", "error"].includes(level)) throw new UsageError("--log-level must be trace, debug, info, warn or error");
  const format = values["log-format"] ?? (process.stderr.isTTY ? "pretty" : "json");
  if (format !== "pretty" && format !== "json") throw new UsageError("--log-format must be pretty or json");
  // stdout carries only the "listening" line, so scripts and tests can read it; logs go to stderr.
  // Loaded here so the admin commands start fast (they need neither libsignal nor the server).
  const { startGatekeeper } = await import("./server.js");
  const { DEFAULT_MEDIA_MAX_BYTES } = await import("./gatekeeper.js");
  const { DEFAULT_SENDER_LIMITS } = await import("./sender-limits.js");
  const log = createLogger({ level: level as "info", format, name: "dma-gatekeeper" }, process.stderr);
  const port = int(values.port, "port", DEFAULT_PORT);
  if (port > 65535) throw new UsageError("--port must be 0..65535");
  const adminPort = int(values["admin-port"], "admin-port", DEFAULT_ADMIN_PORT);
  if (adminPort > 65535) throw new UsageError("--admin-port must be 0..65535");
  const adminHost = values["admin-host"] ?? DEFAULT_HOST;
  if (!isLoopbackHost(adminHost)) throw new UsageError("--admin-host must be a loopback address (127.0.0.1, ::1 or localhost)");
  if (values["public-url"] !== undefined) {
    try {
      audienceOf(values["public-url"]);
    } catch (err) {
      throw new UsageError(`--public-url: ${(err as Error).message}`);
    }
  }
  const limits: Record<string, number> = {};
  const limit = (name: string, key: string, min: number) => {
    if (values[name as keyof typeof values] === undefined) return;
    const v = int(values[name as keyof typeof values] as string, name, 0);
    if (v < min) throw new UsageError(`--${name} must be at least ${min}`);
    limits[key] = v;
  };
  limit("max-connections", "maxConnections", 1);
  limit("headers-timeout-ms", "headersTimeoutMs", 100);
  limit("request-timeout-ms", "requestTimeoutMs", 100);
  limit("keep-alive-timeout-ms", "keepAliveTimeoutMs", 100);
  // Each watched user holds one admin connection open; a harness watching thousands of users raises this.
  const adminLimits: Record<string, number> = {};
  if (values["admin-max-connections"] !== undefined) {
    const v = int(values["admin-max-connections"], "admin-max-connections", 0);
    if (v < 1) throw new UsageError("--admin-max-connections must be at least 1");
    adminLimits["maxConnections"] = v;
  }
  const running = await startGatekeeper({
    host: values.host ?? DEFAULT_HOST,
    port,
    adminHost,
    adminPort,
    ...(values["public-url"] === undefined ? {} : { publicUrl: values["public-url"] }),
    limits,
    adminLimits,
    dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR,
    log,
    mediaMaxBytes: int(values["media-max-bytes"], "media-max-bytes", DEFAULT_MEDIA_MAX_BYTES),
    prekeyLowThreshold: int(values["prekey-low"], "prekey-low", 10),
    rateLimit: { burst: Math.max(1, int(values["rate-burst"], "rate-burst", 200)), perSecond: Math.max(1, int(values["rate-per-second"], "rate-per-second", 100)) },
    senderLimits: {
      messagesPerMinute: int(values["sender-messages-per-minute"], "sender-messages-per-minute", DEFAULT_SENDER_LIMITS.messagesPerMinute),
      newChatsPerHour: int(values["sender-new-chats-per-hour"], "sender-new-chats-per-hour", DEFAULT_SENDER_LIMITS.newChatsPerHour),
    },
    suspendAfterReports: int(values["suspend-after-reports"], "suspend-after-reports", 0),
  });
  process.stdout.write(`dma-gatekeeper listening on ${running.url} (admin API on ${running.adminUrl})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

async function provider(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parse(rest, { id: { type: "string" }, "public-key": { type: "string" }, domain: { type: "string", multiple: true } });
  const api = client(values);
  if (sub === "add") {
    print(await api.addProvider({ id: need(values.id, "--id"), publicKey: need(values["public-key"], "--public-key"), domains: values.domain ?? [] }));
  } else if (sub === "list") {
    print(await api.providers());
  } else {
    throw new UsageError(`unknown provider command ${JSON.stringify(sub ?? "")}`);
  }
}

async function user(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    name: { type: "string" },
    devices: { type: "string" },
    "opt-in": { type: "boolean" },
    receipts: { type: "boolean" },
    "allow-provider": { type: "string", multiple: true },
    to: { type: "string" },
    "reply-to": { type: "string" },
    react: { type: "string" },
    edit: { type: "string" },
    revoke: { type: "string" },
    read: { type: "boolean" },
    typing: { type: "boolean" },
    disappearing: { type: "string" },
    "expires-in": { type: "string" },
    sticker: { type: "string" },
    animated: { type: "boolean" },
    "video-note": { type: "boolean" },
    "view-once": { type: "boolean" },
    "as-edited": { type: "boolean" },
    "with-caption-wrapper": { type: "boolean" },
    location: { type: "string" },
    address: { type: "string" },
    live: { type: "boolean" },
    contact: { type: "string", multiple: true },
    poll: { type: "string" },
    option: { type: "string", multiple: true },
    "max-selections": { type: "string" },
    pin: { type: "string" },
    unpin: { type: "string" },
    vote: { type: "string" },
    mention: { type: "string", multiple: true },
    forwarded: { type: "boolean" },
    preview: { type: "string" },
    title: { type: "string" },
    description: { type: "string" },
    device: { type: "string" },
    file: { type: "string" },
    kind: { type: "string" },
    voice: { type: "boolean" },
    caption: { type: "string" },
    mime: { type: "string" },
    width: { type: "string" },
    height: { type: "string" },
    seconds: { type: "string" },
    waveform: { type: "string" },
    thumbnail: { type: "string" },
    out: { type: "string" },
    avatar: { type: "string" },
  });
  const api = client(values);
  const phone = () => need(positionals[0], "PHONE");
  switch (sub) {
    case "add": {
      const devices = int(values.devices, "devices", 1);
      const allowed = values["allow-provider"];
      return print(
        await api.addUser({
          phone: phone(),
          name: need(values.name, "--name"),
          devices,
          optedIn: values["opt-in"] ?? true,
          sendReceipts: values.receipts ?? true,
          ...(allowed ? { allowedProviders: allowed } : {}),
        }),
      );
    }
    case "list":
      if (values.json) return print(await api.users());
      for (const u of await api.users()) {
        const state = u.optedIn ? (u.allowedProviders.length ? `opted in (${u.allowedProviders.join(", ")})` : "opted in") : "not opted in";
        process.stdout.write(`${u.e164}  ${u.name}  devices ${u.devices.map((d) => d.deviceId).join(",")}  ${state}${u.suspended ? "  SUSPENDED" : ""}${u.blocked.length ? `  blocks ${u.blocked.join(",")}` : ""}\n`);
      }
      return;
    case "show":
      return print(await api.user(phone()));
    case "messages": {
      const list = await api.received(phone());
      if (values.json) return print(list);
      for (const m of list) process.stdout.write(`${describeReceived(m)}\n`);
      return;
    }
    case "send": {
      const to = need(values.to, "--to");
      const words = positionals.slice(1);
      const device = values.device === undefined ? {} : { device: int(values.device, "device", 1) };
      let req: SendRequest;
      if (values.react !== undefined) req = { to, react: { id: values.react.toUpperCase(), emoji: words[0] ?? "" } };
      else if (values.edit !== undefined) req = { to, edit: { id: values.edit.toUpperCase(), text: need(words.join(" "), "TEXT") } };
      else if (values.revoke !== undefined) req = { to, revoke: values.revoke.toUpperCase() };
      else if (values.read) req = { to, read: words.map((w) => w.toUpperCase()) };
      else if (values.typing) req = { to, typing: (words[0] ?? "composing") as "composing" };
      else if (values.disappearing !== undefined) req = { to, disappearing: timerSeconds(values.disappearing, "--disappearing") };
      else if (kindOf(to, values)) req = kindOf(to, values)!;
      else if (values.file !== undefined) {
        req = { to, media: mediaFromFile(values.file, values) };
        if (values["reply-to"] !== undefined) req.replyTo = values["reply-to"].toUpperCase();
        if (values["video-note"]) req.media = { ...req.media!, videoNote: true };
      } else {
        req = { to, text: need(words.join(" "), "TEXT"), ...textExtras(values) };
        if (values["reply-to"] !== undefined) req.replyTo = values["reply-to"].toUpperCase();
      }
      if (req.location && values["reply-to"] !== undefined) req.replyTo = values["reply-to"].toUpperCase();
      const wrap = wrapOf(values);
      if (wrap) req.wrap = wrap;
      if (values["expires-in"] !== undefined) req.expiresIn = timerSeconds(values["expires-in"], "--expires-in");
      const { id } = await api.send(phone(), { ...req, ...device });
      process.stdout.write(`${id}\n`);
      return;
    }
    case "media": {
      const messageId = need(positionals[1], "MESSAGE_ID").toUpperCase();
      const file = await api.media(phone(), messageId);
      const out = values.out ?? basename(file.fileName ?? `${messageId}.bin`);
      writeFileSync(out, file.bytes);
      process.stdout.write(`${out} (${file.bytes.length} bytes, ${file.contentType})\n`);
      return;
    }
    case "watch": {
      const abort = new AbortController();
      process.on("SIGINT", () => abort.abort());
      await api.watch(phone(), (m) => process.stdout.write(`${values.json ? JSON.stringify(m) : describeReceived(m)}\n`), abort.signal);
      return;
    }
    case "block":
      return print(await api.block(phone(), need(positionals[1], "URI")));
    case "unblock":
      return print(await api.unblock(phone(), need(positionals[1], "URI")));
    case "opt-in":
      return print(await api.setOptIn(phone(), true, values["allow-provider"]));
    case "opt-out":
      return print(await api.setOptIn(phone(), false));
    case "receipts": {
      const on = need(positionals[1], "on|off");
      if (on !== "on" && on !== "off") throw new UsageError("receipts takes on or off");
      return print(await api.setSendReceipts(phone(), on === "on"));
    }
    case "profile": {
      const profile: { name?: string; avatar?: string | null } = {};
      if (values.name !== undefined) profile.name = values.name;
      if (values.avatar !== undefined) profile.avatar = values.avatar === "none" ? null : values.avatar;
      if (Object.keys(profile).length === 0) throw new UsageError("user profile needs --name or --avatar");
      return print(await api.setProfile(phone(), profile));
    }
    case "add-device":
      return print(await api.addDevice(phone()));
    case "remove-device":
      await api.removeDevice(phone(), int(need(positionals[1], "DEVICE"), "device", 0));
      return;
    case "suspend":
      return print(await api.suspend(phone(), positionals.slice(1).join(" ") || undefined));
    case "unsuspend":
      return print(await api.unsuspend(phone()));
    case "reports":
      return print(await api.reports({ phone: phone() }));
    case "reset-identity": {
      const target = values.device === undefined ? (await api.user(phone())).devices.map((d) => d.deviceId) : [int(values.device, "device", 1)];
      for (const d of target) print(await api.resetIdentity(phone(), d));
      return;
    }
    default:
      throw new UsageError(`unknown user command ${JSON.stringify(sub ?? "")}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "serve") await serve(rest);
    else if (command === "provider") await provider(rest);
    else if (command === "user") await user(rest);
    else if (command === "reports") print(await client(parse(rest, {}).values).reports());
    else if (command === "blocks") {
      const { values, positionals } = parse(rest, {});
      print(await client(values).providerUserBlocks(need(positionals[0], "URI")));
    }
    else if (command === "help" || command === "--help" || command === "-h" || command === undefined) {
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`dma-gatekeeper: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof AdminApiError) {
      process.stderr.write(`dma-gatekeeper: ${err.errcode} (HTTP ${err.status}): ${err.message}\n`);
      return 1;
    }
    // fetch() reports connection failures as "fetch failed" with the socket error as its cause.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (err instanceof TypeError && cause) {
      process.stderr.write(`dma-gatekeeper: no gatekeeper admin API answers at the admin URL (${cause.code ?? cause.message}); is \`dma-gatekeeper serve\` running, and is --admin-url or --data-dir right?\n`);
      return 1;
    }
    process.stderr.write(`dma-gatekeeper: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function isMainModule(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    // npm installs bins as symlinks; compare real paths.
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

// Run only as the program, not when imported (tests import describeReceived).
if (isMainModule()) {
  const argv = process.argv.slice(2);
  main(argv).then((code) => {
    // `serve` keeps running; everything else exits with its status.
    if (argv[0] !== "serve" || code !== 0) process.exitCode = code;
  });
}
