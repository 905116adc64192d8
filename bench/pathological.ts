// Times the formatters on pathological inputs (test/networks/whatsapp/formatting-shapes.ts), both directions, at 16k, 64k,
// 190k characters and the protocol's maximum.
//
//   npm run bench:pathological                      # this checkout's build
//   npm run bench:pathological -- --from /other/dist  # another build, e.g. before a change
//     (--from-path src/core/formatting/index.js for builds from before the formatter moved to src/networks/whatsapp)
//   options: --sizes 16000,64000  --shape <substring>  --budget-ms 10000 (skip larger sizes of a shape after a run this slow)
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { MAX_WHATSAPP_TEXT, runShape, SHAPES } from "../test/networks/whatsapp/formatting-shapes.js";

type Formatting = Parameters<typeof runShape>[0];

const { values } = parseArgs({
  options: {
    from: { type: "string" },
    "from-path": { type: "string" },
    sizes: { type: "string" },
    shape: { type: "string" },
    "budget-ms": { type: "string" },
  },
});

const sizes = values.sizes ? values.sizes.split(",").map(Number) : [16_000, 64_000, 190_000, MAX_WHATSAPP_TEXT];
const budgetMs = Number(values["budget-ms"] ?? 10_000);
const modulePath = values.from
  ? pathToFileURL(resolve(values.from, values["from-path"] ?? "src/networks/whatsapp/formatting/index.js")).href
  : new URL("../src/networks/whatsapp/formatting/index.js", import.meta.url).href;
const formatting = (await import(modulePath)) as Formatting;

console.log(`formatter: ${modulePath}`);
console.log(["direction", "shape", ...sizes.map((s) => `${s} chars (ms)`)].join("\t"));
for (const shape of SHAPES) {
  if (values.shape && !shape.name.includes(values.shape)) continue;
  const cells: string[] = [];
  let over = false;
  for (const n of sizes) {
    if (over) {
      cells.push("skipped");
      continue;
    }
    const input = shape.make(n);
    // Best of three (one if slow): the bench is about shape, not noise.
    let best = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      runShape(formatting, shape, input);
      const ms = performance.now() - t0;
      best = Math.min(best, ms);
      if (ms > 1000) break;
    }
    cells.push(best.toFixed(1));
    if (best > budgetMs) over = true;
  }
  console.log([shape.direction, shape.name, ...cells].join("\t"));
}
