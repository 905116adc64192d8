#!/usr/bin/env node
// dma-gatekeeper: runs the reference gatekeeper (`serve`) and drives a running one through its admin API.
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createLogger } from "../log.js";
import { AdminApiError, GatekeeperAdminClient, type ReceivedMessage, type SendRequest } from "./admin-client.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "./admin-token.js";

export const DEFAULT_PORT = 29400;
export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_DATA_DIR = "./gatekeeper-data";

const USAGE = `usage: dma-gatekeeper <command> [options]

  serve [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}] [--data-dir ${DEFAULT_DATA_DIR}]
        [--media-max-bytes N] [--rate-burst N] [--rate-per-second N] [--prekey-low N]
        [--log-level info] [--log-format pretty|json]
  provider add --id ID --public-key B64URL --domain DOMAIN [--domain DOMAIN ...]
  provider list
  user add PHONE --name NAME [--devices N] [--no-opt-in] [--allow-provider ID ...] [--no-receipts]
  user list | user show PHONE | user messages PHONE [--json]
  user send PHONE --to URI TEXT [--reply-to ID]
  user send PHONE --to URI --react ID EMOJI     (empty EMOJI removes the reaction)
  user send PHONE --to URI --edit ID TEXT | --revoke ID | --read ID [ID ...] | --typing [composing|recording|paused]
  user watch PHONE [--json]
  user block PHONE URI | user unblock PHONE URI
  user opt-in PHONE [--allow-provider ID ...] | user opt-out PHONE
  user receipts PHONE on|off
  user add-device PHONE | user remove-device PHONE DEVICE
  user reset-identity PHONE [--device N]     (default: every device of the user)

Admin commands talk to a running server: --server URL (default http://${DEFAULT_HOST}:${DEFAULT_PORT}); the admin
token comes from --admin-token-file, else $DMA_GATEKEEPER_ADMIN_TOKEN, else <--data-dir>/${ADMIN_TOKEN_FILE}.`;

class UsageError extends Error {}

const CLIENT_OPTIONS = {
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

function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O) {
  try {
    return parseArgs({ args, options: { ...CLIENT_OPTIONS, ...options }, allowPositionals: true, allowNegative: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function client(values: { server?: string | undefined; "data-dir"?: string | undefined; "admin-token-file"?: string | undefined }): GatekeeperAdminClient {
  const server = (values.server ?? `http://${DEFAULT_HOST}:${DEFAULT_PORT}`).replace(/\/+$/, "");
  let token: string;
  if (values["admin-token-file"]) token = readAdminToken(values["admin-token-file"]);
  else if (process.env.DMA_GATEKEEPER_ADMIN_TOKEN) token = process.env.DMA_GATEKEEPER_ADMIN_TOKEN.trim();
  else token = readAdminToken(join(values["data-dir"] ?? DEFAULT_DATA_DIR, ADMIN_TOKEN_FILE));
  return new GatekeeperAdminClient(server, token);
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
  return value;
}

/** One human line per received message: time, sender, and what it is. */
export function describeReceived(m: ReceivedMessage): string {
  const c = m.content as Record<string, any>;
  const time = new Date(m.receivedAt).toISOString().slice(11, 19);
  let what: string;
  if (c.undecryptable) what = `(undecryptable: ${c.undecryptable})`;
  else if (c.undecodable) what = `(undecodable: ${c.undecodable})`;
  else if (c.message?.conversation) what = c.message.conversation;
  else if (c.message?.extendedTextMessage) what = `${c.message.extendedTextMessage.text}  (reply to ${c.message.extendedTextMessage.contextInfo?.stanzaId ?? "?"})`;
  else if (c.message?.reactionMessage) what = `reacted ${c.message.reactionMessage.text || "(removed)"} to ${c.message.reactionMessage.key?.id}`;
  else if (c.message?.protocolMessage) {
    const p = c.message.protocolMessage;
    what = p.type === "MESSAGE_EDIT" ? `edited ${p.key?.id}: ${p.editedMessage?.conversation ?? ""}` : `deleted ${p.key?.id}`;
  } else if (c.receipt) what = `${String(c.receipt.type ?? "DELIVERED").toLowerCase()} receipt for ${(c.receipt.messageIds ?? []).join(", ")}`;
  else if (c.chatState) what = `${String(c.chatState.state ?? "COMPOSING").toLowerCase()}${c.chatState.audio ? " (voice)" : ""}`;
  else what = JSON.stringify(c);
  return `${time} ${m.sender}#${m.senderDevice} -> device ${m.deviceId} [${m.messageId}]${c.identityChanged ? " (new identity)" : ""}: ${what}`;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parse(args, {
    port: { type: "string" },
    host: { type: "string" },
    "media-max-bytes": { type: "string" },
    "rate-burst": { type: "string" },
    "rate-per-second": { type: "string" },
    "prekey-low": { type: "string" },
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
  const log = createLogger({ level: level as "info", format, name: "dma-gatekeeper" }, process.stderr);
  const port = int(values.port, "port", DEFAULT_PORT);
  if (port > 65535) throw new UsageError("--port must be 0..65535");
  const running = await startGatekeeper({
    host: values.host ?? DEFAULT_HOST,
    port,
    dataDir: values["data-dir"] ?? DEFAULT_DATA_DIR,
    log,
    mediaMaxBytes: int(values["media-max-bytes"], "media-max-bytes", DEFAULT_MEDIA_MAX_BYTES),
    prekeyLowThreshold: int(values["prekey-low"], "prekey-low", 10),
    rateLimit: { burst: Math.max(1, int(values["rate-burst"], "rate-burst", 200)), perSecond: Math.max(1, int(values["rate-per-second"], "rate-per-second", 100)) },
  });
  process.stdout.write(`dma-gatekeeper listening on ${running.url}\n`);
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
    device: { type: "string" },
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
        process.stdout.write(`${u.e164}  ${u.name}  devices ${u.devices.map((d) => d.deviceId).join(",")}  ${state}${u.blocked.length ? `  blocks ${u.blocked.join(",")}` : ""}\n`);
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
      else {
        req = { to, text: need(words.join(" "), "TEXT") };
        if (values["reply-to"] !== undefined) req.replyTo = values["reply-to"].toUpperCase();
      }
      const { id } = await api.send(phone(), { ...req, ...device });
      process.stdout.write(`${id}\n`);
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
    case "add-device":
      return print(await api.addDevice(phone()));
    case "remove-device":
      await api.removeDevice(phone(), int(need(positionals[1], "DEVICE"), "device", 0));
      return;
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
      process.stderr.write(`dma-gatekeeper: no gatekeeper answers at the --server address (${cause.code ?? cause.message}); is \`dma-gatekeeper serve\` running?\n`);
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
