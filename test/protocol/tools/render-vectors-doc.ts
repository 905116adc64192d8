// Rewrites the generated "Test vectors" section of docs/interop-protocol.md from test/protocol/vectors.json.
//   node dist/test/protocol/tools/render-vectors-doc.js
import { readFileSync, writeFileSync } from "node:fs";
import { loadVectors, specPath } from "../vectors-model.js";
import { renderVectorsMarkdown, replaceGeneratedSection } from "../vectors-doc.js";

const doc = readFileSync(specPath, "utf8");
const updated = replaceGeneratedSection(doc, renderVectorsMarkdown(loadVectors()));
if (updated === doc) {
  console.log(`${specPath} is up to date`);
} else {
  writeFileSync(specPath, updated);
  console.log(`updated the test vectors in ${specPath}`);
}
