// Structured mutation of the YAML config: half the time the document is parsed, one node of its tree changed with
// the JSON mutator (keys and values the schema knows) and written back; otherwise the text is edited line-wise or
// gets YAML's own hazards (anchors and aliases, merge keys, tags, block scalars, tabs, a second document).
import { parse, parseDocument, stringify, visit } from "yaml";
import { mutateJson, type JsonDictionary } from "./json.js";
import type { Random } from "./random.js";

const HAZARDS = [
  "&a ",
  "*a",
  "<<: *a\n",
  "!!binary ",
  "!!js/function ",
  "!!str ",
  "!!int ",
  "!!float .inf",
  "? ",
  "|\n  x\n",
  ">-\n  x\n",
  "---\n",
  "...\n",
  "%YAML 1.1\n",
  "\t",
  "{",
  "}",
  "[",
  "]",
  ": ",
  "- ",
  "# ",
  '"\\x',
  "'",
  "~",
  "0x1F",
  "1e400",
  "yes",
  "0o17",
  "2026-01-01",
  "\u0000",
  "\ufeff",
];

/** Config files are a few kilobytes; edits compound over generations, and a megabyte of YAML only slows the run. */
const MAX_YAML = 64 * 1024;

/** The classic alias bomb: each level doubles the previous one; the loader must refuse it, not expand it. */
function aliasBomb(levels: number): string {
  const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i <= levels; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`);
  return lines.join("\n") + "\n";
}

function lineEdit(r: Random, text: string): string {
  const lines = text.split("\n");
  const i = r.int(lines.length);
  switch (r.int(6)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[r.int(lines.length)]!);
      break;
    case 2:
      lines[i] = (r.chance(0.5) ? " " : "  ").repeat(1 + r.int(3)) + lines[i]!;
      break;
    case 3:
      lines[i] = lines[i]!.trimStart();
      break;
    case 4: {
      const line = lines[i]!;
      const at = r.int(line.length + 1);
      lines[i] = line.slice(0, at) + r.pick(HAZARDS) + line.slice(at);
      break;
    }
    default:
      lines.splice(i, 0, r.chance(0.2) ? aliasBomb(1 + r.int(9)) : r.pick(HAZARDS));
  }
  return lines.join("\n");
}

/** Whether the text has no aliases: their objects are shared, and walking the tree of an alias bomb never ends. */
function aliasFree(text: string): boolean {
  let alias = false;
  visit(parseDocument(text, { logLevel: "silent" }), {
    Alias() {
      alias = true;
      return visit.BREAK;
    },
  });
  return !alias;
}

export function mutateYamlText(r: Random, text: string, d: JsonDictionary, donors: readonly string[]): string {
  if (r.chance(0.5) && aliasFree(text)) {
    try {
      const tree = parse(text, { maxAliasCount: 100, logLevel: "silent" }) as Parameters<typeof mutateJson>[1];
      const donor = donors.length > 0 ? r.pick(donors) : undefined;
      const donorTree = donor !== undefined && aliasFree(donor) ? [parse(donor, { logLevel: "silent" }) as Parameters<typeof mutateJson>[1]] : [];
      const out = stringify(mutateJson(r, tree ?? {}, d, donorTree), { logLevel: "silent" });
      if (out.length <= MAX_YAML) return out;
    } catch {
      // not parseable any more (an earlier edit): fall through to a text edit
    }
  }
  let out = text;
  for (let n = 1 + r.int(3); n > 0; n--) out = lineEdit(r, out);
  return out.length <= MAX_YAML ? out : text;
}
