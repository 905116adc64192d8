// Matrix HTML (formatted_body) -> WhatsApp text, walking the tree htmlparser2 builds (entities decoded).
// Nothing of the HTML survives but its text: tags become markup or line structure, attributes are read only
// for links (href, checked by safeHref), list numbering (start) and images (alt).
import { isTag, isText, type ChildNode, type Element } from "domhandler";
import { parseDocument } from "htmlparser2";
import { mentionedUser, safeHref, textShowsHref } from "./links.js";
import { BULLET_ATTRIBUTE } from "./html-render.js";
import { MarkupWriter, NO_STYLE, type StyleStack } from "./markup-writer.js";
import type { Marker } from "./model.js";

type HtmlNode = ChildNode;
type ElementNode = Element;

/** Elements whose content is not message text: code, styling, and the reply fallback Matrix clients remove. */
const SKIPPED = new Set(["script", "style", "mx-reply", "head", "title", "template", "noscript", "iframe", "object", "svg", "math", "textarea", "select"]);
const STYLE_MARKER: Readonly<Record<string, Marker>> = { b: "*", strong: "*", i: "_", em: "_", s: "~", del: "~", strike: "~" };
const HEADINGS = new Set(["h1", "h2", "h3", "h4", "h5", "h6"]);
const LINE_BLOCKS = new Set([
  "div", "section", "article", "header", "footer", "nav", "aside", "main", "table", "thead", "tbody", "tfoot", "tr",
  "details", "summary", "dl", "dt", "dd", "figure", "figcaption", "caption", "center", "address", "fieldset", "legend",
  "form", "li",
]);
const MAX_LIST_NUMBER = 999_999_999;
// Element nesting deeper than this is read as plain text: an event can hold thousands of nested tags, and
// walking them recursively would exhaust the stack. Clients render no more than a few dozen levels anyway.
const MAX_DEPTH = 100;

export function htmlToWhatsApp(html: string): string {
  return renderLines(parseDocument(html).children, NO_STYLE).join("\n");
}

/**
 * Nested quotes and lists prefix the lines of their content; passing lines (not a joined string) up keeps that
 * linear in the output, where joining and splitting again at every level would cost depth times the output.
 */
function renderLines(nodes: readonly HtmlNode[], style: StyleStack): string[] {
  const w = new MarkupWriter();
  walkAll(nodes, style, w);
  return w.finishLines();
}

/**
 * A text node split where the source breaks lines: each maximal run of whitespace that holds a line break is
 * one separator. Written out because the equivalent regex (optional spaces, a line break, any whitespace)
 * backtracks over every long run of spaces without a line break: 64 KB of spaces cost seconds.
 */
export function splitSourceBreaks(s: string): string[] {
  const parts: string[] = [];
  let from = 0;
  for (let j = 0; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c !== 10 && c !== 13) continue;
    let a = j;
    while (a > from && isInlineSpace(s.charCodeAt(a - 1))) a--;
    let b = j + 1;
    while (b < s.length && (isInlineSpace(s.charCodeAt(b)) || s.charCodeAt(b) === 10 || s.charCodeAt(b) === 13)) b++;
    parts.push(s.slice(from, a));
    from = b;
    j = b - 1;
  }
  parts.push(s.slice(from));
  return parts;
}

function isInlineSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 12;
}

function walkAll(nodes: readonly HtmlNode[], style: StyleStack, w: MarkupWriter): void {
  for (const n of nodes) walk(n, style, w);
}

function walk(node: HtmlNode, style: StyleStack, w: MarkupWriter): void {
  if (isTag(node) && depthOf(node) > MAX_DEPTH) {
    w.text(textContent(node).replace(/\s+/g, " "), style);
    return;
  }
  if (isText(node)) {
    splitSourceBreaks(node.data).forEach((part, k) => {
      if (k > 0) w.softSpace(style);
      w.text(part, style);
    });
    return;
  }
  if (!isTag(node) || SKIPPED.has(node.name)) return;
  const name = node.name;
  const marker = STYLE_MARKER[name];
  if (marker !== undefined) {
    walkAll(node.children, withMarker(style, marker), w);
    return;
  }
  switch (name) {
    case "br":
      w.newline();
      return;
    case "p":
      w.breakBefore(2);
      walkAll(node.children, style, w);
      w.breakBefore(2);
      return;
    case "pre":
      codeBlock(node, w);
      return;
    case "code":
      // HTML renders line breaks in inline code as spaces.
      w.code(textContent(node).replace(/\r\n|[\r\n]/g, " "), style);
      return;
    case "blockquote":
      quote(node, style, w);
      return;
    case "ul":
    case "ol":
      list(node, style, w);
      return;
    case "a":
      link(node, style, w);
      return;
    case "img": {
      const alt = node.attribs["alt"] ?? node.attribs["title"];
      if (alt) w.text(alt.replace(/[\r\n]+/g, " "), style);
      return;
    }
    case "hr":
      w.block(["---"]);
      return;
    case "td":
    case "th":
      w.softSpace(style);
      walkAll(node.children, style, w);
      return;
  }
  if (HEADINGS.has(name)) {
    w.breakBefore(2);
    walkAll(node.children, withMarker(style, "*"), w);
    w.breakBefore(2);
    return;
  }
  const isBlock = LINE_BLOCKS.has(name);
  if (isBlock) w.breakBefore(1);
  walkAll(node.children, style, w);
  if (isBlock) w.breakBefore(1);
}

/** Nested elements of the same style add no second marker (WhatsApp cannot nest *bold* in *bold*). */
function withMarker(style: StyleStack, marker: Marker): StyleStack {
  return style.some((m) => m.marker === marker) ? style : [...style, { marker }];
}

function codeBlock(node: ElementNode, w: MarkupWriter): void {
  let text = textContent(node).replace(/\r\n?/g, "\n");
  // CommonMark ends every code block with a newline; it is not part of the code.
  if (text.endsWith("\n")) text = text.slice(0, -1);
  if (text === "") return;
  // The parser drops one newline after the opening and one before the closing fence; code that starts or ends
  // with a newline gets an extra one so that it survives.
  const lead = text.startsWith("\n") ? "\n" : "";
  const tail = text.endsWith("\n") ? "\n" : "";
  w.block(`\`\`\`${lead}${text}${tail}\`\`\``.split("\n"));
}

function quote(node: ElementNode, style: StyleStack, w: MarkupWriter): void {
  const inner = renderLines(node.children, style);
  // A quote of nothing but line breaks would come out as bare ">" lines, which WhatsApp does not show as a quote.
  if (inner.every((l) => l.trim() === "")) return;
  w.block(inner.map((l) => (l === "" ? ">" : `> ${l}`)));
}

function list(node: ElementNode, style: StyleStack, w: MarkupWriter): void {
  const ordered = node.name === "ol";
  const start = ordered ? listStart(node.attribs["start"]) : 0;
  const bullet = node.attribs[BULLET_ATTRIBUTE] === "*" ? "*" : "-";
  // Items are the <li> children; anything else inside the list (a stray nested <ul>, text) joins the item before.
  const items: HtmlNode[][] = [];
  for (const child of node.children) {
    if (isTag(child) && child.name === "li") items.push([...child.children]);
    else if (isTag(child) || (isText(child) && child.data.trim() !== "")) {
      if (items.length === 0) items.push([]);
      items[items.length - 1]!.push(child);
    }
  }
  const lines: string[] = [];
  items.forEach((item, k) => {
    const prefix = ordered ? `${Math.min(start + k, MAX_LIST_NUMBER)}. ` : `${bullet} `;
    const indent = " ".repeat(prefix.length);
    renderLines(item, style).forEach((l, j) => lines.push((j === 0 ? prefix : indent) + l));
  });
  w.block(lines);
}

function listStart(attr: string | undefined): number {
  if (attr === undefined || !/^\s*\d{1,9}\s*$/.test(attr)) return 1;
  return Number(attr);
}

function link(node: ElementNode, style: StyleStack, w: MarkupWriter): void {
  const href = node.attribs["href"];
  const text = textContent(node).replace(/\s+/g, " ").trim();
  const user = mentionedUser(href);
  if (user !== undefined) {
    const name = text || user;
    w.text(name.startsWith("@") ? name : `@${name}`, style);
    return;
  }
  const url = safeHref(href);
  if (url === undefined) {
    walkAll(node.children, style, w);
    return;
  }
  if (text === "") {
    w.text(url, style);
    return;
  }
  walkAll(node.children, style, w);
  if (!textShowsHref(text, url)) w.text(` (${url})`, style);
}

/** The text of an element, as HTML would show it without styles (<br> as a line break). Iterative: see MAX_DEPTH. */
function textContent(root: HtmlNode): string {
  let s = "";
  const stack: HtmlNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (isText(node)) s += node.data;
    else if (isTag(node) && !SKIPPED.has(node.name)) {
      if (node.name === "br") s += "\n";
      for (let k = node.children.length - 1; k >= 0; k--) stack.push(node.children[k]!);
    }
  }
  return s;
}

function depthOf(node: HtmlNode): number {
  let d = 0;
  for (let p = node.parent; p !== null; p = p.parent) d++;
  return d;
}
