// Parsed WhatsApp text -> Matrix HTML. Every piece of text is escaped; the only attribute values written are
// hrefs produced by the URL finder (http/https only) and fixed list attributes.
import type { Block, Inline, Style } from "./model.js";

const TAG: Readonly<Record<Style, string>> = { bold: "strong", italic: "em", strike: "del" };
// Records a "* " bullet so the way back to WhatsApp can reproduce it; "- " is the default and needs no mark.
export const BULLET_ATTRIBUTE = "data-wa-bullet";

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));
}

/**
 * Lines become text separated by <br>; a line followed by anything (even a block) ends with <br>, so that the
 * way back can tell "a\n> q" (one break) from "a\n\n> q" (a break and an empty line).
 */
export function renderBlocks(blocks: readonly Block[]): string {
  let out = "";
  blocks.forEach((b, k) => {
    switch (b.kind) {
      case "line":
        out += renderInlines(b.content);
        if (k < blocks.length - 1) out += "<br>";
        break;
      case "code":
        // Ends with a newline like every CommonMark code block, which the way back removes again.
        out += `<pre><code>${escapeHtml(b.text)}\n</code></pre>`;
        break;
      case "quote":
        out += `<blockquote>${renderBlocks(b.blocks)}</blockquote>`;
        break;
      case "list": {
        const s = b.shape;
        const open = s.ordered ? (s.start === 1 ? "<ol>" : `<ol start="${s.start}">`) : s.bullet === "*" ? `<ul ${BULLET_ATTRIBUTE}="*">` : "<ul>";
        const items = b.items.map((item) => `<li>${renderBlocks(item)}</li>`).join("");
        out += `${open}${items}${s.ordered ? "</ol>" : "</ul>"}`;
        break;
      }
    }
  });
  return out;
}

function renderInlines(nodes: readonly Inline[]): string {
  let out = "";
  for (const n of nodes) {
    switch (n.kind) {
      case "text":
        out += escapeHtml(n.text);
        break;
      case "style":
        out += `<${TAG[n.style]}>${renderInlines(n.children)}</${TAG[n.style]}>`;
        break;
      case "code":
        out += `<code>${escapeHtml(n.text)}</code>`;
        break;
      case "link":
        out += `<a href="${escapeHtml(n.href)}">${escapeHtml(n.text)}</a>`;
        break;
    }
  }
  return out;
}

/** Whether the text uses any markup at all; plain text is sent without formatted_body. */
export function hasFormatting(blocks: readonly Block[]): boolean {
  return blocks.some((b) => b.kind !== "line" || b.content.some((n) => n.kind !== "text"));
}
