// WhatsApp's inline markup (*bold*, _italic_, ~strike~, ``` code ```, > quotes, lists) at the Matrix boundary;
// the rules are in formatting/README.md.
import type { TextDialect } from "../../core/ports.js";
import { matrixToWhatsApp, whatsAppToMatrix } from "./formatting/index.js";
import { mentionText } from "./kinds/mentions.js";

export const whatsAppDialect: TextDialect = {
  toMatrix: (text) => whatsAppToMatrix(text),
  fromMatrix: (content) => matrixToWhatsApp(content),
  withQuote: (quoted, text) => `${quoted.split("\n").map((line) => `> ${line}`).join("\n")}\n\n${text}`,
  mentionText: (user) => mentionText(user),
};
