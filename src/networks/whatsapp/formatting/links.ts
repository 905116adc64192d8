// URLs and Matrix mentions: which text becomes a link on the way in, which hrefs may leave on the way out.
import { codePointBefore, isSpace, isWordChar } from "./chars.js";

const URL_START = /(?:https?:\/\/|www\.)/iy;
// Characters that end a URL in running text: whitespace is handled separately; these cannot appear in a URL
// unescaped and commonly delimit one (quotes, angle brackets, backticks of a code span).
const URL_STOP = new Set(["<", ">", '"', "`"]);
// Trailing punctuation belongs to the sentence (or to a closing formatting marker), not to the URL.
const TRAILING = new Set([".", ",", ":", ";", "!", "?", "'", "*", "_", "~"]);
const CLOSING_BRACKET: Readonly<Record<string, string>> = { ")": "(", "]": "[", "}": "{" };

// Longer candidates are left as text: no client shows them usefully, and the bound keeps every URL check
// (scan, bracket balance, URL.canParse) cheap however often a hostile line restarts one.
export const MAX_URL_LENGTH = 2048;
// Candidates in one word that fail URL.canParse before the rest of the word is no longer tried: each failure costs
// up to MAX_URL_LENGTH, and a word made of "(https://a:" repeated would otherwise pay that at every one.
const MAX_FAILURES_PER_RUN = 8;

export interface FoundUrl {
  readonly end: number;
  readonly text: string;
  readonly href: string;
}

/**
 * Finds URLs in one line. Candidates starting inside the same run of non-space characters share its end, which
 * the finder remembers, so trying every "http"/"www." of a long run costs linear time, not quadratic.
 */
export class UrlFinder {
  private stopFrom = -1;
  private stopAt = -1;
  private failures = 0;

  constructor(private readonly line: string) {}

  /**
   * A URL starting at index i (http://, https:// or www.), as WhatsApp would link it, or undefined.
   * The URL must start at a word boundary; trailing punctuation and unbalanced closing brackets are left out;
   * a candidate longer than MAX_URL_LENGTH is not a link.
   */
  at(i: number): FoundUrl | undefined {
    const line = this.line;
    if (isWordChar(codePointBefore(line, i))) return undefined;
    URL_START.lastIndex = i;
    const m = URL_START.exec(line);
    if (!m) return undefined;
    const hostAt = i + m[0].length;
    // Checked before any scanning: trimming never removes a word character, so this decides it up front.
    if (!isWordChar(line[hostAt])) return undefined;
    const runEnd = this.stopAfter(hostAt);
    if (runEnd - i > MAX_URL_LENGTH || this.failures >= MAX_FAILURES_PER_RUN) return undefined;
    const end = trimUrlEnd(line, i, runEnd);
    const text = line.slice(i, end);
    const href = /^www\./i.test(text) ? `https://${text}` : text;
    if (!URL.canParse(href)) {
      this.failures++;
      return undefined;
    }
    return { end, text, href };
  }

  /** The first index >= from that ends a URL (a stop character, whitespace, or the end of the line). */
  private stopAfter(from: number): number {
    if (from >= this.stopFrom && from <= this.stopAt) return this.stopAt;
    let end = from;
    while (end < this.line.length) {
      const c = this.line[end]!;
      if (URL_STOP.has(c) || isSpace(c)) break;
      end++;
    }
    this.stopFrom = from;
    this.stopAt = end;
    this.failures = 0;
    return end;
  }
}

/** Drops trailing punctuation and unbalanced closing brackets, counting brackets once: linear in the URL. */
function trimUrlEnd(line: string, start: number, end: number): number {
  const opened: Record<string, number> = { "(": 0, "[": 0, "{": 0 };
  const closed: Record<string, number> = { ")": 0, "]": 0, "}": 0 };
  for (let k = start; k < end; k++) {
    const c = line[k]!;
    if (c in opened) opened[c]!++;
    else if (c in closed) closed[c]!++;
  }
  while (end > start) {
    const last = line[end - 1]!;
    const open = CLOSING_BRACKET[last];
    if (TRAILING.has(last) || (open !== undefined && opened[open]! < closed[last]!)) {
      if (open !== undefined) closed[last]!--;
      end--;
      continue;
    }
    break;
  }
  return end;
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
