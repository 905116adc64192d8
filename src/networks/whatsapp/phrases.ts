// Sentences that name WhatsApp's own settings and conventions.
import type { NetworkPhrases } from "../../core/ports.js";

export const whatsAppPhrases: NetworkPhrases = {
  notOptedIn: (who) =>
    `${who} has not enabled chats with other apps (WhatsApp: Settings › Account › Third-party chats), so they cannot receive messages from Matrix.`,
  commandPrefix: "!wa",
  contactNoun: "phone number",
  contactExample: "+49 151 12345678",
  contactSpellings: "any spelling: +49 151 12345678, 0049 151-12345678, …",
};
