// Pathological inputs for the formatters, shared by the complexity test and bench/pathological.ts.
// Each shape makes a text of about n characters built to hit one superlinear pattern a naive parser has.

export type Direction = "whatsapp-to-matrix" | "matrix-to-whatsapp";

export interface Shape {
  readonly name: string;
  readonly direction: Direction;
  /** A WhatsApp text (whatsapp-to-matrix) or a Matrix formatted_body (matrix-to-whatsapp) of about n characters. */
  make(n: number): string;
  /** matrix-to-whatsapp only: the text is a plain body, not formatted_body. */
  readonly plain?: boolean;
  /**
   * The time goes to htmlparser2, whose stack of open elements is an array it unshifts and searches: quadratic in
   * the nesting depth. The formatter bounds it by ignoring formatted_body above MAX_HTML_LENGTH.
   */
  readonly inParser?: boolean;
}

/** `unit` repeated to about n characters, between an optional head and tail. */
function fill(n: number, unit: string, head = "", tail = ""): string {
  return head + unit.repeat(Math.max(1, Math.floor((n - head.length - tail.length) / unit.length))) + tail;
}

export const SHAPES: readonly Shape[] = [
  // WhatsApp markup -> Matrix HTML
  { name: "url + closing parens", direction: "whatsapp-to-matrix", make: (n) => fill(n, ")", "https://x") },
  { name: "url + balanced brackets", direction: "whatsapp-to-matrix", make: (n) => fill(n, "(]", "https://x.org/") },
  { name: "url + trailing dots", direction: "whatsapp-to-matrix", make: (n) => fill(n, ".", "https://x.org/a") },
  { name: "urls that do not parse", direction: "whatsapp-to-matrix", make: (n) => fill(n, "(https://a:") },
  { name: "urls that do not parse, in words", direction: "whatsapp-to-matrix", make: (n) => fill(n, `${"(https://a:".repeat(186)} `) },
  { name: "url starts, no host", direction: "whatsapp-to-matrix", make: (n) => fill(n, "http://.") },
  { name: "www. repeated", direction: "whatsapp-to-matrix", make: (n) => fill(n, "www.") },
  { name: "one long url", direction: "whatsapp-to-matrix", make: (n) => fill(n, "a", "https://x.org/") },
  { name: "stars", direction: "whatsapp-to-matrix", make: (n) => fill(n, "*") },
  { name: "unclosed openers", direction: "whatsapp-to-matrix", make: (n) => fill(n, " *a _b ~c") },
  { name: "mixed markers", direction: "whatsapp-to-matrix", make: (n) => fill(n, "*_~") },
  { name: "nested spans", direction: "whatsapp-to-matrix", make: (n) => fill(n, "*_~x~_* ") },
  { name: "backticks", direction: "whatsapp-to-matrix", make: (n) => fill(n, "`") },
  { name: "unclosed code", direction: "whatsapp-to-matrix", make: (n) => fill(n, " `a") },
  { name: "triple backticks", direction: "whatsapp-to-matrix", make: (n) => fill(n, "```a ") },
  { name: "unclosed fences", direction: "whatsapp-to-matrix", make: (n) => fill(n, "```a\n") },
  { name: "open fence, long body", direction: "whatsapp-to-matrix", make: (n) => fill(n, "x\n", "```\n") },
  { name: "deep quote", direction: "whatsapp-to-matrix", make: (n) => fill(n, "> ", "", "x") },
  { name: "deep quote lines", direction: "whatsapp-to-matrix", make: (n) => fill(n, `${"> ".repeat(60)}x\n`) },
  { name: "deep list lines", direction: "whatsapp-to-matrix", make: (n) => fill(n, `${"- ".repeat(60)}x\n`) },
  { name: "indented list items", direction: "whatsapp-to-matrix", make: (n) => fill(n, "  ", "- a\n", "x") },
  { name: "many lines", direction: "whatsapp-to-matrix", make: (n) => fill(n, "*a*\n") },
  // Matrix HTML -> WhatsApp markup
  { name: "spaces in a text node", direction: "matrix-to-whatsapp", make: (n) => fill(n, " ", "a", "b") },
  { name: "chain of dropped pairs", direction: "matrix-to-whatsapp", make: (n) => fill(n, "<b>a</b><i>b</i>", "", "z") },
  { name: "cells ending in spaces", direction: "matrix-to-whatsapp", make: (n) => fill(n, "<td>x </td>") },
  { name: "deep nesting", direction: "matrix-to-whatsapp", make: (n) => fill(n, "<b><i>", "", "x"), inParser: true },
  { name: "unclosed tags, wrong closers", direction: "matrix-to-whatsapp", make: (n) => fill(n / 2, "<i>") + fill(n / 2, "</b>"), inParser: true },
  { name: "deep quotes, many lines", direction: "matrix-to-whatsapp", make: (n) => "<blockquote>".repeat(100) + fill(n - 1300, "x<br>") },
  { name: "deep lists, many lines", direction: "matrix-to-whatsapp", make: (n) => "<ul><li>".repeat(100) + fill(n - 800, "x<br>") },
  { name: "nested links", direction: "matrix-to-whatsapp", make: (n) => '<a href="https://x.org/">'.repeat(100) + fill(n - 2500, "x ") },
  { name: "many styled words", direction: "matrix-to-whatsapp", make: (n) => fill(n, "<b>a</b> <i>b</i> ") },
  { name: "long code", direction: "matrix-to-whatsapp", make: (n) => fill(n, "`x ", "<code>", "</code>") },
  { name: "reply fallback lines (plain body)", direction: "matrix-to-whatsapp", make: (n) => fill(n, "> <@a:b> x\n"), plain: true },
];

/** Largest WhatsApp text the protocol carries: MAX_CONTENT_BYTES less the protobuf and padding overhead. */
export const MAX_WHATSAPP_TEXT = 196_000;
/** Largest formatted_body Synapse accepts: the whole event is at most 65,536 bytes. */
export const MAX_MATRIX_HTML = 65_000;

/** Runs one shape through the formatter module given (this checkout's, or another build's for comparison). */
export function runShape(
  formatting: { matrixToWhatsApp(c: { body: string; format?: string; formatted_body?: string }): string; whatsAppToMatrix(t: string): unknown },
  shape: Shape,
  input: string,
): unknown {
  if (shape.direction === "whatsapp-to-matrix") return formatting.whatsAppToMatrix(input);
  if (shape.plain) return formatting.matrixToWhatsApp({ body: input });
  return formatting.matrixToWhatsApp({ body: "x", format: "org.matrix.custom.html", formatted_body: input });
}
