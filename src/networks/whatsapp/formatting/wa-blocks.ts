// WhatsApp text -> blocks: fenced monospace, "> " quotes, "- "/"* "/"1. " lists, and plain lines.
//
// - A fenced block opens with ``` at the start of a line and closes at the first ``` after it, which must end a
//   line; one newline right after the opening fence and one right before the closing fence are not content.
// - Quote lines start with "> " (or are a lone ">"); a run of them is parsed again as a document, so quotes can
//   hold lists, code and further quotes.
// - List items start at column 0 with "- ", "* " or "N. " (N without leading zeros). Lines indented by the
//   item's marker width ("- " = 2, "10. " = 4) continue the item, so items can hold nested lists. A list ends at
//   a line that is neither; an ordered list also ends where the numbering skips, and a bullet list where the
//   bullet character changes.
import type { Block, Bullet, ListShape } from "./model.js";
import { parseInline } from "./wa-inline.js";

const FENCE = "```";
// Quotes and lists nested deeper than this stay text: a 64 KB event could otherwise nest thousands of levels.
const MAX_DEPTH = 50;
const ITEM = /^(?:([-*])|(0|[1-9]\d{0,8})\.) /;

export function parseBlocks(lines: readonly string[], depth = 0): Block[] {
  if (depth >= MAX_DEPTH) return lines.map((l) => ({ kind: "line", content: parseInline(l) }));
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.startsWith(FENCE)) {
      const fence = findFence(lines, i);
      if (fence) {
        blocks.push({ kind: "code", text: fence.text });
        i = fence.next;
        continue;
      }
    }
    if (isQuoteLine(line)) {
      const quoted = collectQuote(lines, i);
      if (quoted) {
        blocks.push({ kind: "quote", blocks: parseBlocks(quoted.lines, depth + 1) });
        i = quoted.next;
        continue;
      }
    }
    if (ITEM.test(line)) {
      const list = collectList(lines, i, depth);
      blocks.push(list.block);
      i = list.next;
      continue;
    }
    blocks.push({ kind: "line", content: parseInline(line) });
    i++;
  }
  return blocks;
}

function findFence(lines: readonly string[], start: number): { text: string; next: number } | undefined {
  const first = lines[start]!;
  const sameLine = first.indexOf(FENCE, FENCE.length);
  let text: string;
  let next: number;
  if (sameLine !== -1) {
    // Closed on its own line: a block only if the fence ends the line; otherwise it is inline code.
    if (sameLine !== first.length - FENCE.length) return undefined;
    text = first.slice(FENCE.length, sameLine);
    next = start + 1;
  } else {
    let k = start + 1;
    let at = -1;
    for (; k < lines.length; k++) {
      at = lines[k]!.indexOf(FENCE);
      if (at !== -1) break;
    }
    if (k === lines.length || at !== lines[k]!.length - FENCE.length) return undefined;
    text = [first.slice(FENCE.length), ...lines.slice(start + 1, k), lines[k]!.slice(0, at)].join("\n");
    next = k + 1;
  }
  if (text.startsWith("\n")) text = text.slice(1);
  if (text.endsWith("\n")) text = text.slice(0, -1);
  return text === "" ? undefined : { text, next };
}

function isQuoteLine(line: string): boolean {
  return line === ">" || line.startsWith("> ");
}

function collectQuote(lines: readonly string[], start: number): { lines: string[]; next: number } | undefined {
  const quoted: string[] = [];
  let k = start;
  while (k < lines.length && isQuoteLine(lines[k]!)) {
    quoted.push(lines[k]!.slice(2));
    k++;
  }
  // A run of bare ">" lines quotes nothing; leave it as text.
  return quoted.some((q) => q !== "") ? { lines: quoted, next: k } : undefined;
}

interface ItemStart {
  readonly width: number;
  readonly bullet?: Bullet;
  readonly number?: number;
}

function itemStart(line: string): ItemStart | undefined {
  const m = ITEM.exec(line);
  if (!m) return undefined;
  return m[1] !== undefined ? { width: 2, bullet: m[1] as Bullet } : { width: m[0].length, number: Number(m[2]) };
}

function collectList(lines: readonly string[], start: number, depth: number): { block: Block; next: number } {
  const first = itemStart(lines[start]!)!;
  const shape: ListShape = first.bullet !== undefined ? { ordered: false, bullet: first.bullet } : { ordered: true, start: first.number! };
  const items: Block[][] = [];
  let k = start;
  for (;;) {
    const it = k < lines.length ? itemStart(lines[k]!) : undefined;
    if (!it) break;
    const fits = shape.ordered ? it.number === shape.start + items.length : it.bullet === shape.bullet;
    if (!fits) break;
    const indent = " ".repeat(it.width);
    const content = [lines[k]!.slice(it.width)];
    k++;
    while (k < lines.length && lines[k]!.startsWith(indent)) content.push(lines[k++]!.slice(it.width));
    items.push(parseBlocks(content, depth + 1));
  }
  return { block: { kind: "list", shape, items }, next: k };
}
