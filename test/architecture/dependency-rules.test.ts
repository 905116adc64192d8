// The layering rules (.dependency-cruiser.cjs) hold: each rule reports its violation in a small tree written for it,
// allowed imports pass, and the real tree has no violation beyond the known ones in the baseline (which must all
// still occur, so that the baseline only shrinks).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { repoRoot } from "../harness/repo-root.js";

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}
interface Checker {
  CONFIG_FILE: string;
  checkDependencies(options: { baseDir: string; roots?: string[]; configFile?: string; knownViolations?: Violation[] }): Promise<{
    result: { summary: { violations: Violation[] } };
    report: string;
  }>;
  readBaseline(baseDir: string): Violation[];
}

async function checker(): Promise<Checker> {
  return (await import(pathToFileURL(path.join(repoRoot(), "scripts", "check-deps.mjs")).href)) as Checker;
}

/** Each file's imports; `type:` marks a type-only import. */
const FIXTURE: Record<string, string[]> = {
  "src/core/bridge.ts": ["../matrix/client.js", "type:../interop/client.js", "type:../store/portals.js", "../store/outbox.js", "type:../store/database.js"],
  "src/core/ok.ts": ["./bridge.js", "../util/sleep.js"],
  "src/matrix/client.ts": ["../store/portals.js", "../util/sleep.js"],
  "src/interop/client.ts": [],
  "src/store/portals.ts": ["./database.js"],
  "src/store/outbox.ts": [],
  "src/store/database.ts": [],
  "src/util/sleep.ts": [],
  "src/util/a.ts": ["./b.js"],
  "src/util/b.ts": ["type:./a.js"],
  "src/app/run.ts": ["../../test/helper.js", "../core/bridge.js", "../matrix/client.js", "../store/portals.js"],
  "src/protocol/uri.ts": ["../config/load.js"],
  "src/config/load.ts": [],
  "src/gatekeeper/server.ts": ["../store/portals.js", "../protocol/uri.js"],
  "src/networks/whatsapp/format.ts": ["../../app/run.js", "../../protocol/uri.js"],
  "test/helper.ts": ["../src/app/run.js"],
};

function writeFixture(dir: string): void {
  for (const [file, imports] of Object.entries(FIXTURE)) {
    const full = path.join(dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    const lines = imports.map((spec, i) =>
      spec.startsWith("type:") ? `import type { X as T${i} } from "${spec.slice(5)}";` : `import { X as V${i} } from "${spec}";`,
    );
    writeFileSync(full, `${lines.join("\n")}\nexport const X = 1;\nexport type X = number;\n`);
  }
}

const pairs = (vs: Violation[], rule: string) =>
  vs
    .filter((v) => v.rule.name === rule)
    .map((v) => `${v.from} -> ${v.to}`)
    .sort();

describe("dependency rules", function () {
  this.timeout(60_000);
  let dir: string;
  let violations: Violation[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "mdb-deps-"));
    writeFixture(dir);
    const { checkDependencies, CONFIG_FILE } = await checker();
    ({ result: { summary: { violations } } } = await checkDependencies({ baseDir: dir, configFile: path.join(repoRoot(), CONFIG_FILE) }));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the core off the adapters, type-only imports included", () => {
    assert.deepEqual(pairs(violations, "core-not-to-adapters"), ["src/core/bridge.ts -> src/interop/client.ts", "src/core/bridge.ts -> src/matrix/client.ts"]);
  });

  it("lets the core name store types, but not run store code nor touch the storage engine", () => {
    assert.deepEqual(pairs(violations, "core-store-types-only"), ["src/core/bridge.ts -> src/store/outbox.ts"]);
    assert.deepEqual(pairs(violations, "core-not-to-store-engine"), ["src/core/bridge.ts -> src/store/database.ts"]);
  });

  it("keeps the Matrix layer, the protocol, the gatekeeper and the networks to themselves", () => {
    assert.deepEqual(pairs(violations, "matrix-is-a-library"), ["src/matrix/client.ts -> src/store/portals.ts"]);
    assert.deepEqual(pairs(violations, "protocol-is-a-library"), ["src/protocol/uri.ts -> src/config/load.ts"]);
    assert.deepEqual(pairs(violations, "gatekeeper-is-separate"), ["src/gatekeeper/server.ts -> src/store/portals.ts"]);
    assert.deepEqual(pairs(violations, "networks-not-to-runtime"), ["src/networks/whatsapp/format.ts -> src/app/run.ts"]);
  });

  it("keeps src off test/", () => {
    assert.deepEqual(pairs(violations, "src-not-to-test"), ["src/app/run.ts -> test/helper.ts"]);
  });

  it("finds cycles, type-only ones too", () => {
    // One edge per cycle is reported. b.ts reaches a.ts only through a type-only import: without it there is no cycle.
    const cycles = pairs(violations, "no-circular");
    const found = (files: string[]) => cycles.some((edge) => files.every((f) => edge.includes(f)));
    assert.ok(found(["src/util/a.ts", "src/util/b.ts"]), JSON.stringify(cycles));
    assert.ok(found(["src/app/run.ts", "test/helper.ts"]), JSON.stringify(cycles));
    assert.equal(cycles.length, 2, JSON.stringify(cycles));
  });

  it("reports nothing else (the runtime may import every layer)", () => {
    const rules = new Set(violations.map((v) => v.rule.name));
    const expected = ["core-not-to-adapters", "core-store-types-only", "core-not-to-store-engine", "matrix-is-a-library", "protocol-is-a-library", "gatekeeper-is-separate", "networks-not-to-runtime", "src-not-to-test", "no-circular"];
    assert.deepEqual([...rules].sort(), expected.sort());
    assert.equal(violations.filter((v) => v.from.startsWith("src/core/ok.ts")).length, 0);
  });

  it("holds for the real tree, beyond the known violations, each of which still occurs", async () => {
    const { checkDependencies, readBaseline } = await checker();
    const root = repoRoot();
    const known = readBaseline(root);
    const withKnown = await checkDependencies({ baseDir: root, knownViolations: known });
    const errors = withKnown.result.summary.violations.filter((v) => v.rule.severity === "error");
    assert.deepEqual(errors.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`), [], withKnown.report);
    const all = (await checkDependencies({ baseDir: root })).result.summary.violations;
    const key = (v: Violation) => `${v.rule.name}: ${v.from} -> ${v.to}`;
    const current = new Set(all.map(key));
    const fixed = known.filter((v) => !current.has(key(v))).map(key);
    assert.deepEqual(fixed, [], "fixed violations are still in .dependency-cruiser-known-violations.json: run `node scripts/check-deps.mjs --write-baseline`");
  });
});
