// The bridge's commands: found by name or alias, checked against the sender's role and the room they were sent in,
// and described by a help text made from their definitions. In the management room anything is a command; in a
// portal only a message that starts with the network's prefix ("!wa safety-number") is, and it never reaches the
// contact.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { notices } from "../notices.js";
import { listCommand, startChatCommand } from "./chats.js";
import type { CommandDef, CommandPlace } from "./command.js";
import { disappearingCommand } from "./disappearing.js";
import { blockCommand, blockedCommand, reportCommand, unblockCommand } from "./moderation.js";
import { reachableCommand, spaceCommand } from "./inbox.js";
import { acceptCommand, ignoreCommand, requestsCommand } from "./requests.js";
import { safetyNumberCommand, verifyCommand } from "./safety.js";
import { pingCommand } from "./status.js";
import { deletePortalCommand, logoutCommand, portalsCommand, resetCryptoCommand, statusCommand, syncProfileCommand, versionCommand } from "./admin.js";
import { confirmCommand } from "./confirm.js";

export type { CommandCall, CommandDef, CommandPlace } from "./command.js";

const helpCommand: CommandDef = {
  name: "help",
  summary: () => "this text",
  level: "user",
  place: "both",
  run: ({ ctx, userId, portal, reply }) => reply(portal ? portalHelpText(ctx, userId) : helpText(ctx, userId)),
};

export const COMMANDS: readonly CommandDef[] = [
  startChatCommand,
  listCommand,
  requestsCommand,
  acceptCommand,
  ignoreCommand,
  blockCommand,
  unblockCommand,
  blockedCommand,
  reachableCommand,
  spaceCommand,
  pingCommand,
  logoutCommand,
  confirmCommand,
  helpCommand,
  safetyNumberCommand,
  verifyCommand,
  reportCommand,
  disappearingCommand,
  // Admin only: help shows them to admins.
  statusCommand,
  versionCommand,
  portalsCommand,
  deletePortalCommand,
  syncProfileCommand,
  resetCryptoCommand,
];

export type ParsedCommand =
  | { kind: "command"; def: CommandDef; args: string }
  | { kind: "unknown"; word: string }
  /** The command needs an argument it did not get. */
  | { kind: "usage"; def: CommandDef };

const placeOf = (def: CommandDef): CommandPlace => def.place ?? "management";
const runsIn = (def: CommandDef, where: "management" | "portal") => placeOf(def) === "both" || placeOf(def) === where;

function prefixPattern(prefix: string): RegExp {
  return new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?:\\s+|$)`, "i");
}

/** A command in a message body ("help", "!wa start-chat +49…"), or null when the body has no words. */
export function parseCommand(body: string, prefix: string, commands: readonly CommandDef[] = COMMANDS, ctx?: CoreContext): ParsedCommand | null {
  const trimmed = body.trim().replace(prefixPattern(prefix), "");
  if (!trimmed) return null;
  const [word = "", ...rest] = trimmed.split(/\s+/);
  const args = rest.join(" ");
  const name = word.toLowerCase();
  const def = commands.find((c) => c.name === name || c.aliases?.includes(name));
  if (!def) return { kind: "unknown", word };
  // An optional argument (ctx tells) may be left out; without ctx every argument counts as required.
  if (def.argument && !args && (!ctx || def.argument(ctx).required)) return { kind: "usage", def };
  return { kind: "command", def, args };
}

function line(ctx: CoreContext, c: CommandDef, prefix = ""): string {
  return `• ${prefix}${c.name}${c.argument ? ` ${c.argument(ctx).usage}` : ""} — ${c.summary(ctx)}`;
}

/** The commands the user may run, one line each: the management room's, then those for a chat. */
export function helpText(ctx: CoreContext, userId: string, commands: readonly CommandDef[] = COMMANDS): string {
  const mine = commands.filter((c) => ctx.hasLevel(userId, c.level));
  const inChats = mine.filter((c) => placeOf(c) === "portal");
  return [
    `This is the ${ctx.network} bridge. Commands:`,
    ...mine.filter((c) => runsIn(c, "management")).map((c) => line(ctx, c)),
    ...(inChats.length > 0 ? [`In a chat with a ${ctx.network} user, send:`, ...inChats.map((c) => line(ctx, c, `${ctx.remote.phrases.commandPrefix} `))] : []),
    `You can also start a chat by inviting a ${ctx.network} user's Matrix ID to a new direct chat.`,
  ].join("\n");
}

/** What `!wa help` answers in a chat. */
export function portalHelpText(ctx: CoreContext, userId: string, commands: readonly CommandDef[] = COMMANDS): string {
  const prefix = ctx.remote.phrases.commandPrefix;
  return [
    `Commands in this chat (messages starting with "${prefix}" are not sent to the contact):`,
    ...commands.filter((c) => ctx.hasLevel(userId, c.level) && runsIn(c, "portal")).map((c) => line(ctx, c, `${prefix} `)),
  ].join("\n");
}

/** Runs a command from the user's management room and answers there. */
export async function runCommand(ctx: CoreContext, userId: string, roomId: string, body: string, eventId: string, commands: readonly CommandDef[] = COMMANDS): Promise<void> {
  const parsed = parseCommand(body, ctx.remote.phrases.commandPrefix, commands, ctx);
  if (!parsed) return;
  const reply = (text: string) => ctx.notice(ctx.matrix.botUserId, roomId, text, `cmd-${eventId}`);
  await dispatch(ctx, parsed, "management", reply, { ctx, userId, roomId, eventId, args: "", reply });
}

/** Whether a portal message is a command (it starts with the network's prefix); such a message is never bridged. */
export function isPortalCommand(ctx: CoreContext, body: string): boolean {
  return prefixPattern(ctx.remote.phrases.commandPrefix).test(body.trim());
}

/** Runs a command sent in a portal (a message whose body starts with the prefix); the contact's puppet answers there. */
export async function runPortalCommand(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, commands: readonly CommandDef[] = COMMANDS): Promise<void> {
  const roomId = portal.roomId!;
  const reply = (text: string) => ctx.noticeAsPuppet(portal.remoteUri, roomId, text, `cmd-${ev.event_id}`);
  const body = typeof ev.content.body === "string" ? ev.content.body : "";
  const parsed = parseCommand(body, ctx.remote.phrases.commandPrefix, commands, ctx);
  if (!parsed) return reply(portalHelpText(ctx, portal.matrixUser, commands));
  await dispatch(ctx, parsed, "portal", reply, { ctx, userId: portal.matrixUser, roomId, eventId: ev.event_id, args: "", portal, content: ev.content, event: ev, reply });
}

async function dispatch(
  ctx: CoreContext,
  parsed: ParsedCommand,
  where: "management" | "portal",
  reply: (text: string) => Promise<void>,
  call: Parameters<CommandDef["run"]>[0],
): Promise<void> {
  const prefix = ctx.remote.phrases.commandPrefix;
  if (parsed.kind === "unknown") return reply(where === "portal" ? notices.unknownPortalCommand(parsed.word, prefix) : notices.unknownCommand(parsed.word));
  const { def } = parsed;
  if (!ctx.hasLevel(call.userId, def.level)) return reply(notices.needsLevel(def.level));
  if (!runsIn(def, where)) return reply(where === "portal" ? notices.managementOnly(def.name) : notices.portalOnly(prefix, def.name));
  if (parsed.kind === "usage") {
    const arg = def.argument!(ctx);
    const shown = where === "portal" ? `${prefix} ${def.name}` : def.name;
    return reply(notices.usage(`${shown} ${arg.usage}`, arg.example ? `${shown} ${arg.example}` : undefined));
  }
  await def.run({ ...call, args: parsed.args });
}
