// How much text one Matrix message may carry, and what to do with more. (What the network's side takes is its
// codec's business: it refuses what is too long with a reason.)
//
// Synapse refuses an event whose JSON exceeds 65,536 bytes (413 M_TOO_LARGE). In an encrypted room the content
// travels as base64 Megolm ciphertext (4/3 of the plaintext) inside an event that also carries keys, signatures and
// hashes, so the content's own JSON must stay well below that: MATRIX_CONTENT_MAX_BYTES.
import type { MatrixText as MatrixTextContent } from "./ports.js";

export const MATRIX_CONTENT_MAX_BYTES = 40_000;
/** More parts than this and the rest is cut: a wall of a dozen maximal messages is already more than anyone reads. */
export const MATRIX_MAX_PARTS = 12;

export interface MatrixTextParts {
  /** Message contents in order; each fits MATRIX_CONTENT_MAX_BYTES (with msgtype). */
  readonly parts: MatrixTextContent[];
  /** Characters (code points) of the text the parts hold, and of the whole text: equal unless it was cut. */
  readonly shownChars: number;
  readonly totalChars: number;
}

export interface SplitOptions {
  maxBytes?: number;
  maxParts?: number;
  /** The network's markup to Matrix (TextDialect.toMatrix): parts are cut from the network's text, then converted. */
  convert: (text: string) => MatrixTextContent;
}

/** The size of a text message's content as the homeserver will see it (JSON, UTF-8). */
export function contentBytes(content: MatrixTextContent): number {
  return Buffer.byteLength(JSON.stringify({ msgtype: "m.text", ...content }));
}

/**
 * A network's text as one or more Matrix message contents, split at line breaks (else spaces, else anywhere but
 * inside a surrogate pair) so that each fits one event. Halving, rather than filling parts greedily, converts
 * each character O(log n) times and never measures a part twice; parts are then between a quarter and all of
 * the budget. Past maxParts the rest is cut (shownChars < totalChars); the caller says so to the user.
 */
export function splitForMatrix(text: string, options: SplitOptions): MatrixTextParts {
  const maxBytes = options.maxBytes ?? MATRIX_CONTENT_MAX_BYTES;
  const maxParts = options.maxParts ?? MATRIX_MAX_PARTS;
  const convert = options.convert;
  const parts: MatrixTextContent[] = [];
  let shown = 0;
  let full = true;
  const place = (piece: string): void => {
    if (parts.length >= maxParts) {
      full = false;
      return;
    }
    if (piece.trim() === "") return;
    const content = convert(piece);
    if (contentBytes(content) <= maxBytes || piece.length <= 1) {
      parts.push(content);
      shown += codePoints(piece);
      return;
    }
    const [a, b] = halve(piece);
    place(a);
    place(b);
  };
  place(text);
  // Only whitespace: nothing was placed, but the message still arrives (as its start, if that is all that fits).
  if (parts.length === 0) {
    const piece = text.slice(0, maxBytes >> 3);
    parts.push(convert(piece));
    shown = codePoints(piece);
    full = piece.length === text.length;
  }
  const totalChars = codePoints(text);
  return { parts, shownChars: full ? totalChars : shown, totalChars };
}

/** Two pieces of about half the text each, cut at a line break or space near the middle when there is one. */
function halve(text: string): [string, string] {
  const mid = text.length >> 1;
  const lo = text.length >> 2;
  const hi = text.length - lo;
  for (const sep of ["\n", " "]) {
    const before = text.lastIndexOf(sep, mid);
    const after = text.indexOf(sep, mid);
    const candidates = [before, after].filter((k) => k >= lo && k <= hi && k > 0);
    if (candidates.length > 0) {
      const k = candidates.reduce((x, y) => (Math.abs(x - mid) <= Math.abs(y - mid) ? x : y));
      return [text.slice(0, k), text.slice(k + 1)];
    }
  }
  let k = Math.max(1, mid);
  const c = text.charCodeAt(k);
  if (c >= 0xdc00 && c <= 0xdfff && k > 1) k--;
  return [text.slice(0, k), text.slice(k)];
}

/** Characters as people count them: code points, a surrogate pair being one. */
export function codePoints(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c < 0xdc00 || c > 0xdfff || k === 0 || s.charCodeAt(k - 1) < 0xd800 || s.charCodeAt(k - 1) > 0xdbff) n++;
  }
  return n;
}
