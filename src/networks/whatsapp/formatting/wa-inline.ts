// WhatsApp inline markup -> inline nodes, for one line (formatting never spans a line break).
//
// Rules, as WhatsApp applies them:
// - Code first: ```x``` (anything up to the next ``` on the line) and `x` (backticks hugging non-space text at
//   word boundaries). Nothing inside code is formatting. URLs are atoms too, so "a_b_c" in a link stays as is.
// - *bold*, _italic_, ~strike~: the opening marker has a word boundary (start, space or punctuation) before it
//   and a non-space after it; the closing marker has a non-space before it and a word boundary after it; the
//   opener takes the first closer of the same kind that follows it, unless all that lies between is more of the
//   same marker (a "*****" divider stays text). Spans nest (*_both_*) and may contain code
//   and links, which are skipped over when looking for the closer.
// Performance: one pass finds the atoms, one backward pass tabulates the next closer of each kind, so a line
// with many unmatched markers still parses in linear time.
import { canCloseBetween, canOpenBetween, codePointAt, codePointBefore } from "./chars.js";
import { UrlFinder } from "./links.js";
import { STYLE_OF, type Inline, type Marker } from "./model.js";

interface Atom {
  readonly start: number;
  readonly end: number;
  readonly node: Inline;
}

const MARKERS: readonly Marker[] = ["*", "_", "~"];
// Only lines containing one of these can hold any markup; the rest are returned as one text node.
const MAYBE_MARKUP = /[*_~`]|https?:\/\/|www\./i;

export function parseInline(line: string): Inline[] {
  if (line === "") return [];
  if (!MAYBE_MARKUP.test(line)) return [{ kind: "text", text: line }];
  const atoms = findAtoms(line);
  const atomAt = new Map<number, Atom>();
  const inAtom = new Uint8Array(line.length);
  for (const a of atoms) {
    atomAt.set(a.start, a);
    inAtom.fill(1, a.start, a.end);
  }
  const nextCloser = tabulateClosers(line, inAtom);
  return build(line, 0, line.length, atomAt, inAtom, nextCloser);
}

function build(
  line: string,
  from: number,
  to: number,
  atomAt: Map<number, Atom>,
  inAtom: Uint8Array,
  nextCloser: Map<Marker, Int32Array>,
): Inline[] {
  const out: Inline[] = [];
  let textStart = from;
  const flush = (end: number): void => {
    if (end > textStart) out.push({ kind: "text", text: line.slice(textStart, end) });
  };
  let p = from;
  while (p < to) {
    const atom = atomAt.get(p);
    if (atom) {
      flush(p);
      out.push(atom.node);
      p = textStart = atom.end;
      continue;
    }
    const c = line[p] as Marker;
    const table = inAtom[p] ? undefined : nextCloser.get(c);
    if (table && canOpenBetween(codePointBefore(line, p), codePointAt(line, p + 1))) {
      const close = p + 2 <= line.length ? table[p + 2]! : -1;
      if (close >= 0 && close < to && !onlyMarker(line, p + 1, close, c)) {
        flush(p);
        out.push({ kind: "style", style: STYLE_OF[c], children: build(line, p + 1, close, atomAt, inAtom, nextCloser) });
        p = textStart = close + 1;
        continue;
      }
    }
    p++;
  }
  flush(to);
  return out;
}

/** "***", "_____": rows of one marker are dividers, not a span of formatted markers. */
function onlyMarker(line: string, from: number, to: number, m: string): boolean {
  for (let k = from; k < to; k++) if (line[k] !== m) return false;
  return true;
}

/** For each marker, table[i] = the first index >= i holding a valid closer of that marker outside atoms, or -1. */
function tabulateClosers(line: string, inAtom: Uint8Array): Map<Marker, Int32Array> {
  const tables = new Map<Marker, Int32Array>();
  for (const m of MARKERS) {
    const t = new Int32Array(line.length + 1);
    t[line.length] = -1;
    for (let i = line.length - 1; i >= 0; i--) {
      const closes = line[i] === m && !inAtom[i] && canCloseBetween(codePointBefore(line, i), codePointAt(line, i + 1));
      t[i] = closes ? i : t[i + 1]!;
    }
    tables.set(m, t);
  }
  return tables;
}

/** Code spans and URLs, left to right, never overlapping. */
function findAtoms(line: string): Atom[] {
  const atoms: Atom[] = [];
  const singleClosers = backtickClosers(line);
  const urls = new UrlFinder(line);
  let closerIdx = 0;
  let tripleExhausted = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "`") {
      if (line.startsWith("```", i)) {
        const close = tripleExhausted ? -1 : line.indexOf("```", i + 3);
        if (close === -1) tripleExhausted = true;
        else if (close > i + 3) {
          atoms.push({ start: i, end: close + 3, node: { kind: "code", text: line.slice(i + 3, close) } });
          i = close + 3;
          continue;
        }
        i += 3;
        continue;
      }
      if (canOpenBetween(codePointBefore(line, i), codePointAt(line, i + 1)) && line[i + 1] !== "`") {
        while (closerIdx < singleClosers.length && singleClosers[closerIdx]! <= i + 1) closerIdx++;
        const close = singleClosers[closerIdx];
        if (close !== undefined) {
          atoms.push({ start: i, end: close + 1, node: { kind: "code", text: line.slice(i + 1, close) } });
          i = close + 1;
          continue;
        }
      }
      i++;
      continue;
    }
    if (c === "h" || c === "H" || c === "w" || c === "W") {
      const url = urls.at(i);
      if (url) {
        atoms.push({ start: i, end: url.end, node: { kind: "link", href: url.href, text: url.text } });
        i = url.end;
        continue;
      }
    }
    i++;
  }
  return atoms;
}

/** Indexes of backticks that can close a `code` span, ascending. */
function backtickClosers(line: string): number[] {
  const out: number[] = [];
  for (let i = line.indexOf("`"); i !== -1; i = line.indexOf("`", i + 1)) {
    if (canCloseBetween(codePointBefore(line, i), codePointAt(line, i + 1))) out.push(i);
  }
  return out;
}
