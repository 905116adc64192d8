// The seam between message text and its formatting on each side (rules in formatting/README.md).
import { matrixToWhatsApp, whatsAppToMatrix } from "./formatting/index.js";

export interface MatrixTextContent {
  body: string;
  format?: string;
  formatted_body?: string;
}

/** Matrix message content (body, optional HTML) -> WhatsApp markup. */
export function toWhatsAppText(content: MatrixTextContent): string {
  return matrixToWhatsApp(content);
}

/** WhatsApp markup -> Matrix body, plus sanitised HTML when the text has formatting. */
export function toMatrixText(text: string): MatrixTextContent {
  return whatsAppToMatrix(text);
}
