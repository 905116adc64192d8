// Builds WhatsApp text from styled characters and ready-made block lines.
//
// Styles are recorded per character as the stack of formatting elements around it (outer first), and markers
// are only decided when a line is finished, because whether a marker works depends on its neighbours:
// 1. whitespace at the edge of a styled run is moved out of it ("<b>a </b>b" -> "*a* b"), since WhatsApp
//    needs markers to hug non-space text;
// 2. markers are opened and closed with a stack, so spans nest properly and never cross a line break
//    (a style that spans a <br> is closed before it and reopened after it);
// 3. a pair whose markers would not be recognised (e.g. inside a word: "foo<b>bar</b>" -> "foo*bar*") is
//    dropped, repeatedly, because dropping one pair changes the neighbours of others. The text is kept.
// Block separation follows HTML: blocks ask for "n line breaks before the next content"; requests that no
// content follows are dropped, so a message never starts or ends with blank lines a <p> implied.
import { canCloseBetween, canOpenBetween, codePointAt, codePointBefore, isSpace, isWordChar } from "./chars.js";
import type { Marker } from "./model.js";

/** One formatting element (e.g. one <strong>) around some text. Identity matters: two adjacent <b>s stay two. */
export interface Mark {
  readonly marker: Marker;
}
export type StyleStack = readonly Mark[];
export const NO_STYLE: StyleStack = [];

/** A stretch of text with one style; the writer merges adjacent text of the same style into one run. */
interface Run {
  text: string;
  /**
   * Whether text ends in whitespace, kept aside because reading the last character of a string built by
   * appending flattens it: asking after every append made long runs quadratic.
   */
  endsInSpace: boolean;
  readonly style: StyleStack;
  /** A space that stands for an HTML line break in the source: dropped at line edges and next to spaces. */
  readonly soft?: boolean;
  /** Inline code: text is the whole code content, written with backticks when the line is finished. */
  readonly code?: boolean;
}

type Line = { readonly raw: string } | { readonly runs: readonly Run[] };

export class MarkupWriter {
  private readonly lines: Line[] = [];
  private runs: Run[] = [];
  private raw: string | undefined;
  private started = false;
  private trailingBreaks = 0;
  private pendingBreaks = 0;

  /** Styled text; "\n" in it is a hard line break. */
  text(s: string, style: StyleStack): void {
    const parts = s.split("\n");
    parts.forEach((part, k) => {
      if (k > 0) this.newline();
      if (part === "") return;
      this.beginContent();
      const last = this.runs[this.runs.length - 1];
      const endsInSpace = isSpace(part[part.length - 1]);
      if (last && last.style === style && !last.soft && !last.code) {
        last.text += part;
        last.endsInSpace = endsInSpace;
      } else this.runs.push({ text: part, style, endsInSpace });
    });
  }

  /** Whitespace that HTML would collapse: kept only between words on the same line. */
  softSpace(style: StyleStack): void {
    if (this.pendingBreaks > 0 || this.raw !== undefined) return;
    const last = this.runs[this.runs.length - 1];
    if (!last || (!last.code && last.endsInSpace)) return;
    this.runs.push({ text: " ", style, soft: true, endsInSpace: true });
  }

  code(text: string, style: StyleStack): void {
    if (text === "") return;
    this.beginContent();
    this.runs.push({ text, style, code: true, endsInSpace: false });
  }

  /** A hard line break (<br>). */
  newline(): void {
    this.flushBreaks();
    this.endLine();
    this.trailingBreaks++;
    this.started = true;
  }

  /** Asks for at least n line breaks before whatever content comes next (1 = new line, 2 = blank line). */
  breakBefore(n: number): void {
    if (this.started) this.pendingBreaks = Math.max(this.pendingBreaks, n);
  }

  /** Finished lines of a block (quote, list, code block), written verbatim on lines of their own. */
  block(lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.breakBefore(1);
    this.flushBreaks();
    if (this.runs.length > 0 || this.raw !== undefined) this.endLine();
    lines.forEach((l, k) => {
      if (k > 0) this.endLine();
      this.raw = l;
    });
    this.trailingBreaks = 0;
    this.started = true;
    this.breakBefore(1);
  }

  finish(): string {
    return this.finishLines().join("\n");
  }

  /** The finished text as lines (for blocks that prefix every line of their content). */
  finishLines(): string[] {
    this.endLine();
    return this.lines.map((l) => ("raw" in l ? l.raw : writeRuns(l.runs)));
  }

  private beginContent(): void {
    this.flushBreaks();
    if (this.raw !== undefined) this.endLine();
    this.trailingBreaks = 0;
    this.started = true;
  }

  private flushBreaks(): void {
    for (let k = this.trailingBreaks; k < this.pendingBreaks; k++) this.endLine();
    this.trailingBreaks = Math.max(this.trailingBreaks, this.pendingBreaks);
    this.pendingBreaks = 0;
  }

  private endLine(): void {
    this.lines.push(this.raw !== undefined ? { raw: this.raw } : { runs: this.runs });
    this.runs = [];
    this.raw = undefined;
  }
}

type CodeMode = "single" | "triple" | "plain";

/** A run cut at its edge whitespace: only whitespace at the edge of a run can need a different style. */
interface Piece {
  readonly text: string;
  readonly style: StyleStack;
  readonly blank: boolean;
  readonly code: boolean;
}

type Token =
  | { readonly kind: "open"; readonly marker: Marker }
  | { readonly kind: "close"; readonly marker: Marker }
  | { readonly kind: "text"; readonly text: string }
  | { kind: "code"; readonly text: string; mode: CodeMode };

interface Pair {
  readonly open: number;
  close: number;
  /** The pair this one is nested in, or -1. */
  readonly parent: number;
}

function writeRuns(all: readonly Run[]): string {
  let n = all.length;
  while (n > 0 && all[n - 1]!.soft) n--;
  if (n === 0) return "";
  const pieces = cut(all, n);
  const { tokens, pairs } = tokenize(pieces, hugStyles(pieces));
  const dropped = validate(tokens, pairs);
  let out = "";
  tokens.forEach((t, k) => {
    if (dropped[k]) return;
    if (t.kind === "text") out += t.text;
    else if (t.kind === "code") out += t.mode === "single" ? `\`${t.text}\`` : t.mode === "triple" ? `\`\`\`${t.text}\`\`\`` : t.text;
    else out += t.marker;
  });
  return out;
}

function cut(runs: readonly Run[], n: number): Piece[] {
  const out: Piece[] = [];
  for (let r = 0; r < n; r++) {
    const { text, style, code } = runs[r]!;
    if (code) {
      out.push({ text, style, blank: false, code: true });
      continue;
    }
    let a = 0;
    while (a < text.length && isSpace(text[a])) a++;
    if (a === text.length) {
      out.push({ text, style, blank: true, code: false });
      continue;
    }
    let b = text.length;
    while (isSpace(text[b - 1])) b--;
    if (a > 0) out.push({ text: text.slice(0, a), style, blank: true, code: false });
    out.push({ text: a > 0 || b < text.length ? text.slice(a, b) : text, style, blank: false, code: false });
    if (b < text.length) out.push({ text: text.slice(b), style, blank: true, code: false });
  }
  return out;
}

/** Whitespace keeps only the styles shared with the non-space text on both sides of it. */
function hugStyles(pieces: readonly Piece[]): StyleStack[] {
  const styles = pieces.map((p) => p.style);
  const left: StyleStack[] = new Array<StyleStack>(pieces.length);
  let seen: StyleStack = NO_STYLE;
  pieces.forEach((p, i) => {
    left[i] = seen;
    if (!p.blank) seen = p.style;
  });
  seen = NO_STYLE;
  for (let i = pieces.length - 1; i >= 0; i--) {
    const p = pieces[i]!;
    if (p.blank) styles[i] = commonPrefix(commonPrefix(p.style, left[i]!), seen);
    else seen = p.style;
  }
  return styles;
}

function commonPrefix(a: StyleStack, b: StyleStack): StyleStack {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k === a.length ? a : a.slice(0, k);
}

function tokenize(pieces: readonly Piece[], styles: readonly StyleStack[]): { tokens: Token[]; pairs: Pair[] } {
  const tokens: Token[] = [];
  const pairs: Pair[] = [];
  const stack: { mark: Mark; pair: number }[] = [];
  const closeTo = (depth: number): void => {
    while (stack.length > depth) {
      const top = stack.pop()!;
      pairs[top.pair]!.close = tokens.length;
      tokens.push({ kind: "close", marker: top.mark.marker });
    }
  };
  pieces.forEach((p, i) => {
    const s = styles[i]!;
    let k = 0;
    while (k < stack.length && k < s.length && stack[k]!.mark === s[k]) k++;
    closeTo(k);
    for (; k < s.length; k++) {
      const parent = stack.length > 0 ? stack[stack.length - 1]!.pair : -1;
      stack.push({ mark: s[k]!, pair: pairs.length });
      pairs.push({ open: tokens.length, close: -1, parent });
      tokens.push({ kind: "open", marker: s[k]!.marker });
    }
    tokens.push(p.code ? { kind: "code", text: p.text, mode: codeMode(p.text) } : { kind: "text", text: p.text });
  });
  closeTo(0);
  return { tokens, pairs };
}

function codeMode(text: string): CodeMode {
  if (fitsSingleBackticks(text)) return "single";
  // The parser closes ```x``` at the first ``` after the opening one.
  if (!text.includes("```") && !text.endsWith("`")) return "triple";
  return "plain";
}

/** Whether `text` parses back as this code span: hugging non-space, and no backtick inside that could close it. */
function fitsSingleBackticks(text: string): boolean {
  const first = codePointAt(text, 0);
  if (first === "`" || isSpace(first) || isSpace(codePointBefore(text, text.length))) return false;
  for (let j = text.indexOf("`"); j !== -1; j = text.indexOf("`", j + 1)) {
    if (canCloseBetween(codePointBefore(text, j), j + 1 < text.length ? codePointAt(text, j + 1) : "`")) return false;
  }
  return true;
}

/** Drops marker pairs WhatsApp would not recognise where they stand; turns `code` that would not parse into ```code```. */
function validate(tokens: Token[], pairs: readonly Pair[]): Uint8Array {
  const dropped = new Uint8Array(tokens.length);
  const edge = (t: Token, atEnd: boolean): string | undefined => {
    if (t.kind === "open" || t.kind === "close") return t.marker;
    if (t.kind === "code" && t.mode !== "plain") return "`";
    return atEnd ? codePointBefore(t.text, t.text.length) : codePointAt(t.text, 0);
  };
  // Nearest tokens not dropped. Texts and code are never dropped and never empty, so at most a few markers
  // (the closers and openers between two texts) are skipped: constant time.
  const left = (k: number): number => {
    let u = k - 1;
    while (u >= 0 && dropped[u]) u--;
    return u;
  };
  const right = (k: number): number => {
    let u = k + 1;
    while (u < tokens.length && dropped[u]) u++;
    return u;
  };
  const before = (k: number): string | undefined => {
    const u = left(k);
    return u >= 0 ? edge(tokens[u]!, true) : undefined;
  };
  const after = (k: number): string | undefined => {
    const u = right(k);
    return u < tokens.length ? edge(tokens[u]!, false) : undefined;
  };
  // The parser leaves "***" alone: a span holding nothing but its own marker cannot be written.
  const onlyOwnMarker = (p: Pair): boolean => {
    const m = (tokens[p.open] as { marker: Marker }).marker;
    for (let u = p.open + 1; u < p.close; u++) {
      const t = tokens[u]!;
      if (dropped[u]) continue;
      if (t.kind === "code") return false;
      const text = t.kind === "text" ? t.text : t.marker;
      for (const ch of text) if (ch !== m) return false;
    }
    return true;
  };
  const pairOf = new Int32Array(tokens.length).fill(-1);
  pairs.forEach((p, k) => {
    pairOf[p.open] = k;
    pairOf[p.close] = k;
  });
  // Dropping a pair changes the neighbours of others, which may then have to go too. This does what repeated
  // passes over all pairs (in order, until one changes nothing) would do, but each pass only re-checks the pairs
  // a drop can have affected: those owning the markers next to the dropped ones, and the pairs around it (whose
  // content changed). A chain where each drop invalidates the pair before it took one full pass per pair.
  let queue = new MinHeap(pairs.map((_, k) => k));
  let next: number[] = [];
  while (queue.size > 0) {
    let pos = -1;
    while (queue.size > 0) {
      const k = queue.pop();
      if (k === pos || dropped[pairs[k]!.open]) continue;
      pos = k;
      const p = pairs[k]!;
      if (canOpenBetween(before(p.open), after(p.open)) && canCloseBetween(before(p.close), after(p.close)) && !onlyOwnMarker(p)) continue;
      dropped[p.open] = dropped[p.close] = 1;
      const affected: number[] = [];
      for (const t of [p.open, p.close]) {
        const l = left(t);
        const r = right(t);
        if (l >= 0 && pairOf[l]! >= 0) affected.push(pairOf[l]!);
        if (r < tokens.length && pairOf[r]! >= 0) affected.push(pairOf[r]!);
      }
      for (let up = p.parent; up >= 0; up = pairs[up]!.parent) affected.push(up);
      for (const a of affected) {
        if (dropped[pairs[a]!.open]) continue;
        if (a > pos) queue.push(a);
        else next.push(a);
      }
    }
    queue = new MinHeap(next);
    next = [];
  }
  // `x` needs word boundaries, ```x``` does not. Both start and end with a backtick, so switching changes no
  // neighbour of any marker; content that fits neither stays `x` and shows its backticks.
  tokens.forEach((t, k) => {
    if (t.kind === "code" && t.mode === "single" && (isWordChar(before(k)) || isWordChar(after(k))) && !t.text.includes("```") && !t.text.endsWith("`")) {
      t.mode = "triple";
    }
  });
  return dropped;
}

/** A binary min-heap of pair indexes. */
class MinHeap {
  private readonly items: number[];

  constructor(items: readonly number[]) {
    this.items = [...items];
    for (let k = (this.items.length >> 1) - 1; k >= 0; k--) this.down(k);
  }

  get size(): number {
    return this.items.length;
  }

  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let k = a.length - 1; k > 0; ) {
      const up = (k - 1) >> 1;
      if (a[up]! <= a[k]!) break;
      [a[up], a[k]] = [a[k]!, a[up]!];
      k = up;
    }
  }

  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(k: number): void {
    const a = this.items;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let m = k;
      if (l < a.length && a[l]! < a[m]!) m = l;
      if (r < a.length && a[r]! < a[m]!) m = r;
      if (m === k) return;
      [a[m], a[k]] = [a[k]!, a[m]!];
      k = m;
    }
  }
}
