// URLs and Matrix mentions: which text becomes a link on the way in, which hrefs may leave on the way out.
import { codePointBefore, isSpace, isWordChar } from "./chars.js";

const URL_START = /(?:https?:\/\/|www\.)/iy;
// Characters that end a URL in running text: whitespace is handled separately; these cannot appear in a URL
// unescaped and commonly delimit one (quotes, angle brackets, backticks of a code span).
const URL_STOP = new Set(["<", ">", '"', "`"]);
// Trailing punctuation belongs to the sentence (or to a closing formatting marker), not to the URL.
const TRAILING = new Set([".", ",", ":", ";", "!", "?", "'", "*", "_", "~"]);
const CLOSING_BRACKET: Readonly<Record<string, string>> = { ")": "(", "]": "[", "}": "{" };

export interface FoundUrl {
  readonly end: number;
  readonly text: string;
  readonly href: string;
}

/**
 * A URL starting at index i of a line (http://, https:// or www.), as WhatsApp would link it, or undefined.
 * The URL must start at a word boundary; trailing punctuation and unbalanced closing brackets are left out.
 */
export function findUrlAt(line: string, i: number): FoundUrl | undefined {
  if (isWordChar(codePointBefore(line, i))) return undefined;
  URL_START.lastIndex = i;
  const m = URL_START.exec(line);
  if (!m) return undefined;
  let end = i + m[0].length;
  while (end < line.length) {
    const c = line[end]!;
    if (URL_STOP.has(c) || isSpace(c)) break;
    end++;
  }
  end = trimUrlEnd(line, i, end);
  const text = line.slice(i, end);
  if (!isWordChar(text[m[0].length])) return undefined;
  const href = /^www\./i.test(text) ? `https://${text}` : text;
  if (!URL.canParse(href)) return undefined;
  return { end, text, href };
}

function trimUrlEnd(line: string, start: number, end: number): number {
  for (;;) {
    const last = line[end - 1];
    if (last === undefined || end <= start) return end;
    if (TRAILING.has(last)) {
      end--;
      continue;
    }
    const open = CLOSING_BRACKET[last];
    if (open !== undefined && count(line, start, end, open) < count(line, start, end, last)) {
      end--;
      continue;
    }
    return end;
  }
}

function count(s: string, from: number, to: number, c: string): number {
  let n = 0;
  for (let k = from; k < to; k++) if (s[k] === c) n++;
  return n;
}

/** The href if it may be shown to a WhatsApp user as a link (http, https or mailto, no spaces), else undefined. */
export function safeHref(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  const h = href.trim();
  if (!/^(?:https?|mailto):/i.test(h)) return undefined;
  if (/[\s\p{Cc}]/u.test(h)) return undefined;
  if (!URL.canParse(h)) return undefined;
  return h;
}

/** The Matrix user ID a mention link points at (matrix.to or matrix: URI), or undefined for other links. */
export function mentionedUser(href: string | undefined): string | undefined {
  if (href === undefined) return undefined;
  const h = href.trim();
  const permalink = /^https:\/\/matrix\.to\/#\/((?:@|%40)[^/?#]+)/i.exec(h);
  const uri = /^matrix:u\/([^/?#]+)/i.exec(h);
  const raw = permalink?.[1] ?? (uri?.[1] !== undefined ? `@${uri[1]}` : undefined);
  if (raw === undefined) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return /^@[^:\s]+:\S+$/.test(id) ? id : undefined;
}

/**
 * Whether a link's visible text already says where it goes, so that printing the URL again would repeat it:
 * the href itself, or the href without its http(s) or mailto scheme (and without a lone trailing slash).
 */
export function textShowsHref(text: string, href: string): boolean {
  if (text === href) return true;
  const bare = href.replace(/^(?:https?:\/\/|mailto:)/i, "");
  return text === bare || text === bare.replace(/\/$/, "");
}
