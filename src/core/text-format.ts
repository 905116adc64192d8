// The seam between message text and its formatting on each side. Plain text until the formatting converter lands.
export interface MatrixTextContent {
  body: string;
  format?: string;
  formatted_body?: string;
}

/** Matrix message content -> WhatsApp text. */
export function toWhatsAppText(content: MatrixTextContent): string {
  return content.body;
}

/** WhatsApp text -> Matrix body (and HTML when the text has formatting). */
export function toMatrixText(text: string): MatrixTextContent {
  return { body: text };
}
