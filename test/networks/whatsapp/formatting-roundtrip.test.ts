// Generated round trips: canonical WhatsApp texts come back unchanged, Matrix HTML keeps its formatting, and
// arbitrary texts settle after one trip.
import assert from "node:assert/strict";
import { isTag, isText, type ChildNode } from "domhandler";
import { parseDocument } from "htmlparser2";
import { describe, it } from "mocha";
import { matrixToWhatsApp, whatsAppToMatrix } from "../../../src/networks/whatsapp/formatting/index.js";
import { prng } from "../../support/prng.js";


class Gen {
  constructor(private readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// Words that do not contain markup characters; some end in punctuation, which is a word boundary.
const WORDS = ["hello", "world", "Привет", "мир", "日本語", "中文", "مرحبا", "שלום", "😀", "🎉👍", "42", "café", "naïve", "ok,", "yes!", "(so)", "what?", "x-y", "a.b"];
const URLS = ["https://example.org", "https://example.org/a_b_c", "http://x.org/p?q=1&r=*2*x", "www.example.org/~user"];
const HTML_FORMAT = "org.matrix.custom.html";
// MDB_FORMATTING_SCALE=20 runs twenty times as many generated cases (for a longer hunt; the default stays quick).
const SCALE = Math.max(1, Number(process.env["MDB_FORMATTING_SCALE"] ?? "1") || 1);

// ---- canonical WhatsApp texts ----

function waInline(g: Gen, open: ReadonlySet<string>, depth: number): string {
  const parts: string[] = [];
  const n = 1 + g.int(4);
  for (let k = 0; k < n; k++) {
    const free = ["*", "_", "~"].filter((m) => !open.has(m));
    const r = g.int(10);
    if (r < 3 && depth < 3 && free.length > 0) {
      const m = g.pick(free);
      parts.push(m + waInline(g, new Set([...open, m]), depth + 1) + m);
    } else if (r < 4) parts.push("`" + Array.from({ length: 1 + g.int(3) }, () => g.pick([...WORDS, "*x*", "_y_", "~z~"])).join(" ") + "`");
    else if (r < 5) parts.push(g.pick(URLS));
    else parts.push(g.pick(WORDS));
  }
  return parts.join(" ");
}

function waDocument(g: Gen, depth: number, mustStartWithText: boolean): string[] {
  const lines: string[] = [];
  const n = 1 + g.int(4);
  let last = "";
  let beforeLast = "";
  for (let k = 0; k < n; k++) {
    let kind = k === 0 && mustStartWithText ? "text" : g.pick(depth < 2 ? ["text", "text", "empty", "quote", "list", "code"] : ["text", "empty", "code"]);
    // Two quotes or two lists in a row would merge into one; separate them with an empty line.
    if ((kind === "quote" || kind === "list") && kind === last) lines.push("");
    beforeLast = last;
    last = kind;
    switch (kind) {
      case "text":
        lines.push(waInline(g, new Set(), 0));
        break;
      case "empty":
        lines.push("");
        break;
      case "quote":
        for (const l of waDocument(g, depth + 1, true)) lines.push(l === "" ? ">" : `> ${l}`);
        break;
      case "code":
        // Starts and ends with a word: a fence followed by a backtick is read differently (see README).
        lines.push(...("```go " + Array.from({ length: 1 + g.int(3) }, () => waInline(g, new Set(), 0)).join("\n") + " end```").split("\n"));
        break;
      case "list": {
        const ordered = g.chance(0.5);
        const start = g.pick([0, 1, 1, 7, 9, 99]);
        const bullet = g.pick(["-", "*"]);
        const items = 1 + g.int(3);
        for (let i = 0; i < items; i++) {
          const prefix = ordered ? `${start + i}. ` : `${bullet} `;
          waDocument(g, depth + 1, g.chance(0.8)).forEach((l, j) => lines.push((j === 0 ? prefix : " ".repeat(prefix.length)) + l));
        }
        break;
      }
    }
  }
  // An empty line that ends a document right after a block is not kept (see README: trailing newlines).
  if (last === "empty" && beforeLast !== "text" && beforeLast !== "empty" && beforeLast !== "") lines.pop();
  return lines;
}

// ---- Matrix HTML and what it means ----

function htmlInline(g: Gen, depth: number): string {
  const parts: string[] = [];
  const n = 1 + g.int(4);
  for (let k = 0; k < n; k++) {
    const r = g.int(12);
    if (r < 4 && depth < 3) {
      const tag = g.pick(["b", "strong", "i", "em", "s", "del", "strike"]);
      parts.push(`<${tag}>${htmlInline(g, depth + 1)}</${tag}>`);
    } else if (r < 5) parts.push(`<code>${g.pick(WORDS)} *${g.pick(WORDS)}*</code>`);
    else if (r < 6) {
      const url = g.pick(URLS.filter((u) => u.startsWith("http")));
      parts.push(`<a href="${url.replace(/&/g, "&amp;")}">${url.replace(/&/g, "&amp;")}</a>`);
    } else if (r < 7 && depth === 0) parts.push("<br>");
    else parts.push(g.pick(WORDS));
  }
  return parts.join(" ");
}

function htmlBlocks(g: Gen, depth: number): string {
  const out: string[] = [];
  const n = 1 + g.int(3);
  for (let k = 0; k < n; k++) {
    const r = g.int(depth < 2 ? 6 : 3);
    if (r < 2) out.push(`<p>${htmlInline(g, 0)}</p>`);
    else if (r < 3) out.push(`<pre><code>${htmlInline(g, 3).replace(/<[^>]+>/g, "")}\n</code></pre>`);
    else if (r < 4) out.push(`<blockquote>${htmlBlocks(g, depth + 1)}</blockquote>`);
    else {
      const tag = g.pick(["ul", "ol"]);
      const items = Array.from({ length: 1 + g.int(3) }, () => `<li>${g.chance(0.5) ? htmlInline(g, 0) : htmlBlocks(g, depth + 1)}</li>`);
      out.push(`<${tag}>${items.join("\n")}</${tag}>`);
    }
  }
  return out.join("\n");
}

const STYLE_FLAGS: Readonly<Record<string, string>> = { b: "B", strong: "B", i: "I", em: "I", s: "S", del: "S", strike: "S", code: "C", pre: "P", a: "L" };

/**
 * What the formatting of some HTML means, character by character: every non-space character with the styles,
 * code, links, quote depth and list depth around it. Paragraph and line structure are left out: WhatsApp
 * writes them as newlines, which come back as <br>.
 */
function meaning(html: string): string[] {
  const out: string[] = [];
  const walk = (nodes: readonly ChildNode[], flags: ReadonlySet<string>, quote: number, list: number): void => {
    for (const n of nodes) {
      if (isText(n)) {
        const ctx = `${[...flags].sort().join("")}|q${quote}|l${list}`;
        for (const ch of n.data) if (!/\s/u.test(ch)) out.push(`${ch}:${ctx}`);
      } else if (isTag(n)) {
        const f = STYLE_FLAGS[n.name];
        const next = f ? new Set([...flags, f]) : flags;
        walk(n.children, next, quote + (n.name === "blockquote" ? 1 : 0), list + (n.name === "ul" || n.name === "ol" ? 1 : 0));
      }
    }
  };
  walk(parseDocument(html).children, new Set(), 0, 0);
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// ---- arbitrary texts ----

const PIECES = ["*", "_", "~", "`", "```", " ", " ", "\n", "\n", "> ", ">", "- ", "* ", "1. ", "2. ", "  ", "a", "bc", "😀", "日本", "<", "&", '"', "http://x.y/", "www.a.b", "(", ")", "."];

function arbitrary(g: Gen): string {
  return Array.from({ length: g.int(40) }, () => g.pick(PIECES)).join("");
}

describe("formatting: generated round trips", () => {
  it("canonical WhatsApp texts survive WhatsApp -> Matrix -> WhatsApp unchanged (2000 cases)", () => {
    for (let seed = 1; seed <= 2000 * SCALE; seed++) {
      const text = waDocument(new Gen(prng(seed)), 0, false).join("\n");
      const content = whatsAppToMatrix(text);
      assert.equal(content.body, text);
      assert.equal(matrixToWhatsApp(content), text, `seed ${seed}: ${JSON.stringify(text)} via ${content.formatted_body}`);
    }
  });

  it("Matrix HTML keeps its formatting through Matrix -> WhatsApp -> Matrix (2000 cases)", () => {
    for (let seed = 1; seed <= 2000 * SCALE; seed++) {
      const html = htmlBlocks(new Gen(prng(seed)), 0);
      const text = matrixToWhatsApp({ body: "", format: HTML_FORMAT, formatted_body: html });
      const back = whatsAppToMatrix(text);
      assert.deepEqual(meaning(back.formatted_body ?? escapeHtml(back.body)), meaning(html), `seed ${seed}: ${html}\n-> ${JSON.stringify(text)}\n-> ${back.formatted_body}`);
    }
  });

  it("arbitrary texts settle after one round trip and never lose their body (5000 cases)", () => {
    for (let seed = 1; seed <= 5000 * SCALE; seed++) {
      const text = arbitrary(new Gen(prng(seed)));
      const content = whatsAppToMatrix(text);
      assert.equal(content.body, text);
      const once = matrixToWhatsApp(content);
      assert.equal(matrixToWhatsApp(whatsAppToMatrix(once)), once, `seed ${seed}: ${JSON.stringify(text)} -> ${JSON.stringify(once)}`);
    }
  });
});
