// Renders the "Test vectors" section of docs/interop-protocol.md from vectors.json. The section between the two
// markers is generated; vectors.test.ts fails when it differs from what this renders, so doc and JSON cannot drift.
import type { Vectors } from "./vectors-model.js";

export const BEGIN_MARKER =
  "<!-- BEGIN GENERATED VECTORS: from test/protocol/vectors.json by node dist/test/protocol/tools/render-vectors-doc.js -->";
export const END_MARKER = "<!-- END GENERATED VECTORS -->";

const BYTES_PER_LINE = 32;

/** Bodies of the HTTPS safety endpoints, rendered in a section of their own. */
const SAFETY_TYPES = new Set(["dma.interop.v1.BlockList", "dma.interop.v1.Report", "dma.interop.v1.ReportReceipt"]);

function hexBlock(hex: string): string {
  if (hex.length === 0) return "```hex\n(empty)\n```";
  const lines: string[] = [];
  for (let i = 0; i < hex.length; i += BYTES_PER_LINE * 2) lines.push(hex.slice(i, i + BYTES_PER_LINE * 2));
  return "```hex\n" + lines.join("\n") + "\n```";
}

function jsonBlock(value: unknown): string {
  return "```json\n" + JSON.stringify(value, null, 2) + "\n```";
}

function bytesNote(hex: string): string {
  return `${hex.length / 2} bytes`;
}

export function renderVectorsMarkdown(v: Vectors): string {
  const out: string[] = [];
  const p = (s = "") => out.push(s);

  p("### Envelope and frames");
  p();
  p("Input: canonical protobuf JSON (proto field names, bytes in base64, 64-bit integers as strings). Output: the");
  p("protobuf encoding, fields in ascending field-number order, default values omitted.");
  const protobufVector = (vec: Vectors["protobuf"][number]) => {
    p();
    p(`#### \`${vec.name}\` (\`${vec.type}\`)`);
    p();
    p(vec.description);
    p();
    p(jsonBlock(vec.json));
    p();
    p(`Bytes (${bytesNote(vec.hex)}):`);
    p();
    p(hexBlock(vec.hex));
  };
  for (const vec of v.protobuf.filter((x) => !SAFETY_TYPES.has(x.type))) protobufVector(vec);

  p();
  p("### Safety bodies");
  p();
  p("The JSON is the HTTP body exactly as it travels (§7.5); the bytes are the same message in the binary encoding.");
  for (const vec of v.protobuf.filter((x) => SAFETY_TYPES.has(x.type))) protobufVector(vec);

  p();
  p("### Content");
  p();
  p("Input: protobuf JSON of `dma.interop.v1.Content` and a fixed padding length. Output: the padded plaintext that");
  p("goes into Signal encryption (protobuf bytes followed by n bytes of value n).");
  for (const vec of v.content) {
    p();
    p(`#### \`${vec.name}\` (padding ${vec.padding})`);
    p();
    p(vec.description);
    p();
    p(jsonBlock(vec.json));
    p();
    p(`Padded bytes (${bytesNote(vec.hex)}):`);
    p();
    p(hexBlock(vec.hex));
  }

  p();
  p("### Padding");
  p();
  p("| input (hex) | n | padded (hex) |");
  p("|---|---|---|");
  for (const vec of v.padding) p(`| \`${vec.input || "(empty)"}\` | ${vec.n} | \`${vec.output}\` |`);

  p();
  p("### Inputs that must be rejected");
  p();
  p("| name | decoder | input (hex) | error code |");
  p("|---|---|---|---|");
  for (const vec of v.rejects) {
    p(`| \`${vec.name}\`: ${vec.description} | ${vec.decoder} | \`${vec.hex || "(empty)"}\` | \`${vec.code}\` |`);
  }

  p();
  p("### Message IDs");
  p();
  p("| bytes (hex) | string form |");
  p("|---|---|");
  for (const vec of v.messageIds) p(`| \`${vec.bytes}\` | \`${vec.string}\` |`);

  p();
  p("### URIs");
  p();
  p("| identity | URI | displayed as |");
  p("|---|---|---|");
  for (const vec of v.uris) {
    if ("userId" in vec) p(`| \`${vec.userId}\` | \`${vec.uri}\` | |`);
    else p(`| \`${vec.e164}\` | \`${vec.uri}\` | ${vec.international} |`);
  }
  p();
  p("Phone numbers typed by people (§4.2):");
  p();
  p("| input | default country | E.164 |");
  p("|---|---|---|");
  for (const vec of v.phoneNumbers) p(`| \`${vec.input}\` | ${vec.defaultCountry ?? "-"} | \`${vec.e164}\` |`);

  p();
  p("### Media key expansion");
  p();
  p(`mediaKey = \`${v.mediaKeys[0]?.mediaKey ?? ""}\` for every kind.`);
  p();
  p("| kind | iv | cipherKey | macKey | refKey |");
  p("|---|---|---|---|---|");
  for (const vec of v.mediaKeys) p(`| ${vec.kind} | \`${vec.iv}\` | \`${vec.cipherKey}\` | \`${vec.macKey}\` | \`${vec.refKey}\` |`);

  p();
  p("### Encrypted media");
  p();
  const first = v.media[0];
  if (first) {
    p(`mediaKey as above; plaintext (${first.fileLength} bytes):`);
    p();
    p(hexBlock(first.plaintext));
  }
  for (const vec of v.media) {
    p();
    p(`#### ${vec.kind}`);
    p();
    p(`Upload (${bytesNote(vec.upload)}: ciphertext, then the 10-byte MAC):`);
    p();
    p(hexBlock(vec.upload));
    p();
    p(`- fileSha256: \`${vec.fileSha256}\``);
    p(`- fileEncSha256: \`${vec.fileEncSha256}\``);
    p(`- fileLength: ${vec.fileLength}`);
  }
  return out.join("\n");
}

/** Returns `doc` with the generated section replaced; throws if the markers are missing. */
export function replaceGeneratedSection(doc: string, section: string): string {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < begin) throw new Error("docs/interop-protocol.md lacks the generated-vectors markers");
  return doc.slice(0, begin + BEGIN_MARKER.length) + "\n\n" + section + "\n\n" + doc.slice(end);
}

export function generatedSection(doc: string): string | undefined {
  const begin = doc.indexOf(BEGIN_MARKER);
  const end = doc.indexOf(END_MARKER);
  if (begin < 0 || end < begin) return undefined;
  return doc.slice(begin + BEGIN_MARKER.length, end).trim();
}
