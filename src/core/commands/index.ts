// The management room's commands: found by name or alias, checked against the sender's role, and described by a
// help text made from their definitions.
import type { CoreContext } from "../context.js";
import { notices } from "../notices.js";
import { listCommand, startChatCommand } from "./chats.js";
import type { CommandDef } from "./command.js";
import { pingCommand } from "./status.js";
import { deletePortalCommand, logoutCommand, portalsCommand, resetCryptoCommand, statusCommand, syncProfileCommand, versionCommand } from "./admin.js";
import { confirmCommand } from "./confirm.js";

export type { CommandCall, CommandDef } from "./command.js";

const helpCommand: CommandDef = {
  name: "help",
  summary: () => "this text",
  level: "user",
  run: ({ ctx, userId, reply }) => reply(helpText(ctx, userId)),
};

export const COMMANDS: readonly CommandDef[] = [
  startChatCommand,
  listCommand,
  pingCommand,
  logoutCommand,
  confirmCommand,
  helpCommand,
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

/** A command in a message body ("help", "!wa start-chat +49…"), or null when the body has no words. */
export function parseCommand(body: string, prefix: string, commands: readonly CommandDef[] = COMMANDS): ParsedCommand | null {
  const trimmed = body.trim().replace(new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s+`, "i"), "");
  if (!trimmed) return null;
  const [word = "", ...rest] = trimmed.split(/\s+/);
  const args = rest.join(" ");
  const name = word.toLowerCase();
  const def = commands.find((c) => c.name === name || c.aliases?.includes(name));
  if (!def) return { kind: "unknown", word };
  if (def.argument && !args) return { kind: "usage", def };
  return { kind: "command", def, args };
}

/** The commands the user may run, one line each. */
export function helpText(ctx: CoreContext, userId: string, commands: readonly CommandDef[] = COMMANDS): string {
  const lines = commands
    .filter((c) => ctx.hasLevel(userId, c.level))
    .map((c) => `• ${c.name}${c.argument ? ` ${c.argument(ctx).usage}` : ""} — ${c.summary(ctx)}`);
  return [
    `This is the ${ctx.network} bridge. Commands:`,
    ...lines,
    `You can also start a chat by inviting a ${ctx.network} user's Matrix ID to a new direct chat.`,
  ].join("\n");
}

/** Runs a command from the user's management room and answers there. */
export async function runCommand(ctx: CoreContext, userId: string, roomId: string, body: string, eventId: string, commands: readonly CommandDef[] = COMMANDS): Promise<void> {
  const parsed = parseCommand(body, ctx.remote.phrases.commandPrefix, commands);
  if (!parsed) return;
  const reply = (text: string) => ctx.notice(ctx.matrix.botUserId, roomId, text, `cmd-${eventId}`);
  if (parsed.kind === "unknown") return reply(notices.unknownCommand(parsed.word));
  const { def } = parsed;
  if (!ctx.hasLevel(userId, def.level)) return reply(notices.needsLevel(def.level));
  if (parsed.kind === "usage") {
    const arg = def.argument!(ctx);
    return reply(notices.usage(`${def.name} ${arg.usage}`, arg.example ? `${def.name} ${arg.example}` : undefined));
  }
  await def.run({ ctx, userId, roomId, eventId, args: parsed.args, reply });
}
