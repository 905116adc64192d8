#!/usr/bin/env node
// `npm run check:deps`: the layering rules of .dependency-cruiser.cjs over src/, test/, bench/ and demo/, less the
// violations listed in .dependency-cruiser-known-violations.json (a baseline that only shrinks).
//
// Run through dependency-cruiser's JS API rather than its CLI for one reason: the CLI always prints a
// "missing-tsc-transpiler" warning, because TypeScript 7 has no JS API. The rules parse with swc instead, which
// sees type-only imports too (test/architecture/dependency-rules.test.ts holds that), so the warning is dropped.
// Usage: node scripts/check-deps.mjs [--write-baseline | --no-ignore-known]
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cruise, format } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";

export const CONFIG_FILE = ".dependency-cruiser.cjs";
export const BASELINE_FILE = ".dependency-cruiser-known-violations.json";
const SCANNED = ["src", "test", "bench", "demo"];
const IGNORED_ISSUES = new Set(["missing-tsc-transpiler"]);

/**
 * Cruises `roots` (folders below `baseDir`) with a rule file. Returns the cruise result (violations in
 * result.summary.violations, without those in `knownViolations`) and the error report as text.
 */
export async function checkDependencies({ baseDir, roots = SCANNED, configFile = path.join(baseDir, CONFIG_FILE), knownViolations = [] }) {
  const options = await extractDepcruiseOptions(configFile);
  const present = roots.filter((r) => existsSync(path.join(baseDir, r)));
  const previousCwd = process.cwd();
  // dependency-cruiser resolves relative to the working directory (its baseDir option covers the file list only).
  process.chdir(baseDir);
  let output;
  try {
    output = await cruise(present, { ...options, baseDir, knownViolations, outputType: "json" });
  } finally {
    process.chdir(previousCwd);
  }
  const result = typeof output.output === "string" ? JSON.parse(output.output) : output.output;
  const environment = result.summary.environment;
  if (environment?.issues) environment.issues = environment.issues.filter((i) => !IGNORED_ISSUES.has(i.name));
  const report = (await format(result, { outputType: "err" })).output;
  return { result, report: String(report), exitCode: output.exitCode };
}

export function readBaseline(baseDir) {
  const file = path.join(baseDir, BASELINE_FILE);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [];
}

async function main() {
  const baseDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  if (process.argv.includes("--write-baseline")) {
    const { result } = await checkDependencies({ baseDir });
    const baseline = (await format(result, { outputType: "baseline" })).output;
    writeFileSync(path.join(baseDir, BASELINE_FILE), String(baseline));
    process.stdout.write(`wrote ${BASELINE_FILE} (${result.summary.violations.length} known violations)\n`);
    return;
  }
  const knownViolations = process.argv.includes("--no-ignore-known") ? [] : readBaseline(baseDir);
  const { result, report } = await checkDependencies({ baseDir, knownViolations });
  const errors = result.summary.violations.filter((v) => v.rule.severity === "error").length;
  process.stdout.write(report);
  if (errors > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
