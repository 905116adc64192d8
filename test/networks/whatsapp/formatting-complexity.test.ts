// Every pathological shape (formatting-shapes.ts) at the largest size each direction can receive, and at a quarter
// of it: the work must grow about linearly. Quadratic code takes 16x for 4x the input; the bound of 12x leaves
// room for a loaded machine, and a floor on the small size keeps sub-millisecond runs from turning noise into
// ratios. The absolute bound catches what is slow at every size (the URL trimming took 61 s at 190k characters).
import assert from "node:assert/strict";
import { describe, it } from "mocha";
import * as formatting from "../../../src/networks/whatsapp/formatting/index.js";
import { MAX_URL_LENGTH } from "../../../src/networks/whatsapp/formatting/links.js";
import { MAX_MATRIX_HTML, MAX_WHATSAPP_TEXT, runShape, SHAPES, type Shape } from "./formatting-shapes.js";

const MAX_RATIO = 12;
const FLOOR_MS = 5;
const MAX_MS_AT_LIMIT = 5_000;
// Shapes whose time is htmlparser2's (see Shape.inParser): bounded, not linear, at the largest event Synapse takes.
const MAX_PARSER_MS_AT_LIMIT = 1_500;

function bestOf(runs: number, shape: Shape, input: string): number {
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    runShape(formatting, shape, input);
    best = Math.min(best, performance.now() - t0);
    if (best > MAX_MS_AT_LIMIT) break;
  }
  return best;
}

function ratio(shape: Shape, big: number, runs: number): { small: number; large: number; ratio: number } {
  const smallInput = shape.make(big / 4);
  const largeInput = shape.make(big);
  const small = bestOf(runs, shape, smallInput);
  const large = bestOf(runs, shape, largeInput);
  return { small, large, ratio: large / Math.max(small, FLOOR_MS) };
}

describe("formatting: work grows linearly on pathological input", function () {
  this.timeout(180_000);
  for (const shape of SHAPES) {
    const max = shape.direction === "whatsapp-to-matrix" ? MAX_WHATSAPP_TEXT : MAX_MATRIX_HTML;
    it(`${shape.direction}: ${shape.name} (${max} characters)`, () => {
      let m = ratio(shape, max, 3);
      // One more, longer look before failing: a single GC pause or a busy neighbour should not decide it.
      if (m.ratio >= MAX_RATIO) m = ratio(shape, max, 5);
      const what = `${m.small.toFixed(1)} ms at ${max / 4}, ${m.large.toFixed(1)} ms at ${max}`;
      if (shape.inParser) {
        assert.ok(m.large < MAX_PARSER_MS_AT_LIMIT, `too slow: ${what}`);
        return;
      }
      assert.ok(m.large < MAX_MS_AT_LIMIT, `too slow: ${what}`);
      assert.ok(m.ratio < MAX_RATIO, `superlinear: ${what} (ratio ${m.ratio.toFixed(1)})`);
    });
  }
});

describe("formatting: URL length cap", () => {
  it("links a URL of MAX_URL_LENGTH characters", () => {
    const url = `https://x.org/${"a".repeat(MAX_URL_LENGTH - 14)}`;
    assert.match(formatting.whatsAppToMatrix(url).formatted_body ?? "", /^<a href=/);
  });

  it("leaves a longer URL as text", () => {
    const url = `https://x.org/${"a".repeat(MAX_URL_LENGTH)}`;
    assert.deepEqual(formatting.whatsAppToMatrix(url), { body: url });
  });

  it("still trims brackets and punctuation after a URL", () => {
    const out = formatting.whatsAppToMatrix(`(see https://x.org/a_(b)).${")".repeat(20)}`);
    assert.match(out.formatted_body ?? "", /<a href="https:\/\/x\.org\/a_\(b\)">https:\/\/x\.org\/a_\(b\)<\/a>\)\.\){20}$/);
  });

  it("keeps finding URLs after a few candidates that do not parse", () => {
    const out = formatting.whatsAppToMatrix("(https://a:(https://a: https://x.org");
    assert.match(out.formatted_body ?? "", /<a href="https:\/\/x\.org">/);
  });
});

describe("formatting: formatted_body too large for any homeserver", () => {
  it("is ignored in favour of the body", () => {
    const html = `<b>${"x".repeat(formatting.MAX_HTML_LENGTH)}</b>`;
    assert.equal(formatting.matrixToWhatsApp({ body: "plain", format: "org.matrix.custom.html", formatted_body: html }), "plain");
  });
});
