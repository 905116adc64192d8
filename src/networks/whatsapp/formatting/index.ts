// Text formatting between Matrix (HTML in formatted_body) and WhatsApp (inline markup in the text itself).
// Pure functions; the rules and their limits are described in README.md beside this file.
import { hasFormatting, renderBlocks } from "./html-render.js";
import { htmlToWhatsApp } from "./html-to-whatsapp.js";
import { stripReplyFallback } from "./reply-fallback.js";
import { parseBlocks } from "./wa-blocks.js";

export const MATRIX_HTML_FORMAT = "org.matrix.custom.html";
/**
 * Longer formatted_body is ignored (the body is used): no homeserver delivers it (Synapse's whole event is at most
 * 65,536 bytes), and htmlparser2 keeps its open elements in an array it shifts and searches, so deep or
 * mismatched nesting costs time quadratic in the size of the HTML.
 */
export const MAX_HTML_LENGTH = 65_536;

/** The text parts of an m.room.message content. */
export interface MatrixTextContent {
  body: string;
  format?: string;
  formatted_body?: string;
}

export interface MatrixFormattedText {
  body: string;
  format?: typeof MATRIX_HTML_FORMAT;
  formatted_body?: string;
}

/**
 * The WhatsApp text for a Matrix message: formatted_body converted when it is Matrix HTML, else body.
 * Reply fallbacks (<mx-reply>, or the "> <@user:server> ..." lines of a plain body) are removed.
 * Throws TypeError when content is not an object with a string body.
 */
export function matrixToWhatsApp(content: MatrixTextContent): string {
  if (typeof content !== "object" || content === null) throw new TypeError("matrixToWhatsApp: content must be an object");
  if (typeof content.body !== "string") throw new TypeError("matrixToWhatsApp: content.body must be a string");
  if (content.format === MATRIX_HTML_FORMAT && typeof content.formatted_body === "string" && content.formatted_body.length <= MAX_HTML_LENGTH) {
    const text = htmlToWhatsApp(content.formatted_body);
    // HTML that renders to nothing (e.g. only a reply fallback) says less than the body does.
    if (text.trim() !== "") return text;
  }
  return stripReplyFallback(content.body);
}

/**
 * Matrix content for a WhatsApp text: body is the text as received; format and formatted_body are present
 * only when the text uses markup (formatting, code, quotes, lists or links). Line endings are read as "\n".
 * Throws TypeError when text is not a string.
 */
export function whatsAppToMatrix(text: string): MatrixFormattedText {
  if (typeof text !== "string") throw new TypeError("whatsAppToMatrix: text must be a string");
  const blocks = parseBlocks(text.replace(/\r\n?/g, "\n").split("\n"));
  if (!hasFormatting(blocks)) return { body: text };
  return { body: text, format: MATRIX_HTML_FORMAT, formatted_body: renderBlocks(blocks) };
}
