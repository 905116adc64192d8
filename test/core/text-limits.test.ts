// Splitting a network's texts that do not fit one Matrix event (here with WhatsApp's markup, the one that exists).
import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { contentBytes, MATRIX_CONTENT_MAX_BYTES, MATRIX_MAX_PARTS, splitForMatrix as split, type SplitOptions } from "../../src/core/text-limits.js";
import { whatsAppDialect } from "../../src/networks/whatsapp/index.js";

const toMatrixText = whatsAppDialect.toMatrix;
const splitForMatrix = (text: string, opts: Partial<SplitOptions> = {}) => split(text, { convert: toMatrixText, ...opts });
const bodies = (text: string, opts: Partial<SplitOptions> = {}) => splitForMatrix(text, opts).parts.map((p) => p.body);

describe("splitForMatrix", () => {
  it("keeps a text that fits as one part, converted as usual", async () => {
    const out = splitForMatrix("*hi* there");
    assert.deepEqual(out.parts, [toMatrixText("*hi* there")]);
    assert.equal(out.shownChars, out.totalChars);
  });

  it("splits at line breaks, in order, each part within the budget", async () => {
    const lines = Array.from({ length: 4000 }, (_, k) => `line ${k} *bold* <&>"`);
    const out = splitForMatrix(lines.join("\n"));
    assert.ok(out.parts.length > 1);
    for (const p of out.parts) assert.ok(contentBytes(p) <= MATRIX_CONTENT_MAX_BYTES, `${contentBytes(p)} bytes`);
    assert.deepEqual(out.parts.map((p) => p.body).join("\n"), lines.join("\n"));
    for (const p of out.parts) assert.match(p.formatted_body ?? "", /^line \d+ <strong>bold<\/strong> &lt;&amp;&gt;&quot;/);
  });

  it("splits one long line at spaces, and a long word anywhere but inside a surrogate pair", async () => {
    const words = Array.from({ length: 300 }, (_, k) => `w${k}`).join(" ");
    assert.equal(bodies(words, { maxBytes: 200, maxParts: 100 }).join(" "), words);
    const emoji = "😀".repeat(500);
    const parts = bodies(emoji, { maxBytes: 300, maxParts: 100 });
    assert.ok(parts.length > 1);
    assert.equal(parts.join(""), emoji);
    for (const p of parts) assert.doesNotMatch(p, /^[\udc00-\udfff]|[\ud800-\udbff]$/);
  });

  it("cuts past the part limit and says how much is shown", async () => {
    const text = Array.from({ length: 100 }, (_, k) => `${k}`.padEnd(99, "x")).join("\n");
    const out = splitForMatrix(text, { maxBytes: 500, maxParts: 3 });
    assert.equal(out.parts.length, 3);
    assert.equal(out.totalChars, text.length);
    assert.ok(out.shownChars < out.totalChars && out.shownChars > 0);
    assert.ok(text.startsWith(out.parts[0]!.body));
  });

  it("handles the protocol's largest text in few parts and little time", async () => {
    const text = `https://x${")".repeat(196_000)}`;
    const t0 = performance.now();
    const out = splitForMatrix(text);
    assert.ok(performance.now() - t0 < 3_000);
    assert.ok(out.parts.length <= MATRIX_MAX_PARTS);
    assert.equal(out.parts.map((p) => p.body).join(""), text);
  });

  it("still sends a text of only whitespace", async () => {
    assert.deepEqual(bodies("   "), ["   "]);
  });
});
