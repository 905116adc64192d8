// WhatsApp writes a mention into the text as "@" and the phone number's digits, and lists the mentioned user in
// ContextInfo.mentioned_jid. A Matrix user of the bridge has no number: its mention is its Matrix ID, "@user:server".
import { parseUri } from "../../../protocol/uri.js";

export function mentionText(user: string): string | undefined {
  try {
    const u = parseUri(user);
    return u.kind === "tel" ? `@${u.e164.slice(1)}` : u.userId;
  } catch {
    return undefined;
  }
}
