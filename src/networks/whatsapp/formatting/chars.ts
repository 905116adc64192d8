// Character classes for WhatsApp's formatting rules. A marker only counts when it sits at a word boundary, so
// "word" has to mean letters, digits and combining marks in every script, not just ASCII.
const WORD = /^[\p{L}\p{N}\p{M}]$/u;
const SPACE = /^\s$/u;

/** The code point that ends just before index i (handles surrogate pairs), or undefined at the start. */
export function codePointBefore(s: string, i: number): string | undefined {
  if (i <= 0) return undefined;
  const low = s.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2) {
    const high = s.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return s.slice(i - 2, i);
  }
  return s[i - 1];
}

/** The code point that starts at index i, or undefined past the end. */
export function codePointAt(s: string, i: number): string | undefined {
  if (i >= s.length) return undefined;
  const cp = s.codePointAt(i)!;
  return String.fromCodePoint(cp);
}

export function isWordChar(c: string | undefined): boolean {
  return c !== undefined && WORD.test(c);
}

export function isSpace(c: string | undefined): boolean {
  return c !== undefined && SPACE.test(c);
}

/** An opening marker needs a boundary before it and a non-space after it. */
export function canOpenBetween(before: string | undefined, after: string | undefined): boolean {
  return !isWordChar(before) && after !== undefined && !isSpace(after);
}

/** A closing marker needs a non-space before it and a boundary after it. */
export function canCloseBetween(before: string | undefined, after: string | undefined): boolean {
  return before !== undefined && !isSpace(before) && !isWordChar(after);
}
