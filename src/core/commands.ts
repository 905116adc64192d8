// Management-room commands: parsing and the help text. Execution lives in the bridge, which has the ports.

export type Command =
  | { name: "help" }
  | { name: "start-chat"; number: string }
  | { name: "list" }
  | { name: "ping" }
  | { name: "unknown"; word: string }
  | { name: "usage"; message: string };

export function parseCommand(body: string): Command | null {
  const trimmed = body.trim().replace(/^!wa\s+/i, "");
  if (!trimmed) return null;
  const [word = "", ...rest] = trimmed.split(/\s+/);
  const arg = rest.join(" ");
  switch (word.toLowerCase()) {
    case "help":
      return { name: "help" };
    case "start-chat":
    case "start":
    case "pm":
      if (!arg) return { name: "usage", message: "Usage: start-chat <phone number>, for example: start-chat +49 151 12345678" };
      return { name: "start-chat", number: arg };
    case "list":
      return { name: "list" };
    case "ping":
      return { name: "ping" };
    default:
      return { name: "unknown", word };
  }
}

export function helpText(network: string): string {
  return [
    `This is the ${network} bridge. Commands:`,
    `• start-chat <phone number> — open a chat with a ${network} user (any spelling: +49 151 12345678, 0049 151-12345678, …)`,
    "• list — your bridged chats",
    `• ping — the state of the connection to ${network}`,
    "• help — this text",
    `You can also start a chat by inviting a ${network} user's Matrix ID to a new direct chat.`,
  ].join("\n");
}
