// The Dockerfile cannot be built here (no container engine runs on these machines), so it is checked statically: a
// linter, the rules the image must keep (non-root, healthcheck, pinned base, exec form), and that every path it
// copies exists — in the repository for the build context, in the built tree (node_modules, dist/) for the build stage.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { DockerfileParser, type Copy, type Instruction, type JSONInstruction } from "dockerfile-ast";
import { validate, ValidationSeverity } from "dockerfile-utils";
import { COMMANDS } from "../../src/cli/args.js";
import { repoRoot } from "../harness/repo-root.js";

interface Stage {
  readonly name: string | null;
  readonly image: string;
  readonly instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const stages: { name: string | null; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const args = instruction.getArguments().map((a) => a.getValue());
      stages.push({ image: args[0] ?? "", name: args[1]?.toUpperCase() === "AS" ? (args[2] ?? null) : null, instructions: [] });
    }
    stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const keyword = (stage: Stage, word: string) => stage.instructions.filter((i) => i.getKeyword() === word);
const jsonWords = (i: Instruction) => (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());

/** The image's WORKDIR in effect at `instruction` (Docker's default is /). */
function workdirAt(stage: Stage, instruction: Instruction): string {
  let dir = "/";
  for (const i of stage.instructions) {
    if (i === instruction) break;
    if (i.getKeyword() === "WORKDIR") dir = posix.resolve(dir, i.getArguments()[0]!.getValue());
  }
  return dir;
}

interface CopyPaths {
  readonly from: string | null;
  readonly sources: string[];
  readonly destination: string;
  /** A destination ending in "/" (or several sources) is a directory that receives each source by its name. */
  readonly intoDirectory: boolean;
}

function copyPaths(stage: Stage, copy: Copy): CopyPaths {
  const args = copy.getArguments().map((a) => a.getValue());
  const target = args.at(-1)!;
  const destination = posix.resolve(workdirAt(stage, copy), target);
  return { from: copy.getFromFlag()?.getValue() ?? null, sources: args.slice(0, -1), destination, intoDirectory: target.endsWith("/") || args.length > 2 };
}

/** Docker's .dockerignore semantics for the patterns used here: the last matching pattern wins; a match on a directory covers what is inside. */
function dockerIgnored(patterns: string[], path: string): boolean {
  const toRegex = (pattern: string) =>
    new RegExp(`^${pattern.replace(/\/+$/, "").replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/\u0000/g, ".*")}(?:/.*)?$`);
  let ignored = false;
  for (const line of patterns) {
    const negated = line.startsWith("!");
    const pattern = negated ? line.slice(1) : line;
    if (toRegex(pattern).test(path)) ignored = !negated;
  }
  return ignored;
}

describe("Dockerfile", () => {
  const root = repoRoot();
  const text = readFileSync(join(root, "Dockerfile"), "utf8");
  const stages = stagesOf(text);
  const final = stages.at(-1)!;
  const ignorePatterns = readFileSync(join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));

  it("passes the Dockerfile linter (dockerfile-utils; and hadolint where it is installed)", function () {
    const strict = {
      deprecatedMaintainer: ValidationSeverity.ERROR,
      directiveCasing: ValidationSeverity.ERROR,
      emptyContinuationLine: ValidationSeverity.ERROR,
      instructionCasing: ValidationSeverity.ERROR,
      instructionCmdMultiple: ValidationSeverity.ERROR,
      instructionEntrypointMultiple: ValidationSeverity.ERROR,
      instructionHealthcheckMultiple: ValidationSeverity.ERROR,
      instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
      instructionWorkdirRelative: ValidationSeverity.ERROR,
    };
    const problems = validate(text, strict).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    assert.deepEqual(problems, []);
    // The linter must see mistakes at all: a copy of the file with one broken healthcheck fails it.
    assert.notDeepEqual(validate(text.replace("--interval=30s", "--interval=soon"), strict), []);

    const hadolint = spawnSync("hadolint", ["--failure-threshold", "info", "-"], { input: text, encoding: "utf8" });
    if (hadolint.error) {
      // Not packaged in Debian (bookworm or sid) nor on npm, the only registries these machines reach.
      console.warn("      NOTE: hadolint is not installed; linted by dockerfile-utils and the rules below only");
    } else {
      assert.equal(hadolint.status, 0, `hadolint:\n${hadolint.stdout}${hadolint.stderr}`);
    }
  });

  it("builds in two stages from a pinned base image, with exec-form commands", () => {
    assert.equal(stages.length, 2);
    assert.equal(stages[0]!.name, "build");
    for (const stage of stages) {
      assert.match(stage.image, /^[a-z0-9./-]+:[0-9][\w.-]*$/, `base image ${stage.image} must name a version tag, not latest`);
      for (const add of keyword(stage, "ADD")) assert.fail(`line ${add.getRange().start.line + 1}: COPY local files instead of ADD`);
      for (const run of keyword(stage, "RUN")) {
        const command = run.getArgumentsContent() ?? "";
        if (/apt-get install/.test(command)) {
          assert.match(command, /apt-get install -y --no-install-recommends/);
          assert.match(command, /rm -rf \/var\/lib\/apt\/lists\/\*/);
        }
      }
    }
    for (const word of ["ENTRYPOINT", "CMD"]) {
      const [instruction, ...more] = keyword(final, word);
      assert.ok(instruction, `the image needs ${word}`);
      assert.equal(more.length, 0);
      assert.ok(jsonWords(instruction).length > 0, `${word} must be in exec (JSON) form so that signals reach node`);
    }
  });

  it("runs as an unprivileged user and declares a healthcheck that the CLI implements", () => {
    const users = keyword(final, "USER").map((u) => u.getArguments()[0]!.getValue());
    assert.ok(users.length > 0, "the image must switch to a non-root USER");
    assert.ok(!["root", "0"].includes(users.at(-1)!.split(":")[0]!), `runs as ${users.at(-1)}`);
    const lastUser = final.instructions.lastIndexOf(keyword(final, "USER").at(-1)!);
    const entrypoint = final.instructions.indexOf(keyword(final, "ENTRYPOINT")[0]!);
    assert.ok(lastUser < entrypoint);

    const [healthcheck, ...more] = keyword(final, "HEALTHCHECK");
    assert.ok(healthcheck, "the image needs a HEALTHCHECK");
    assert.equal(more.length, 0);
    const args = healthcheck.getArgumentsContent() ?? "";
    const command = JSON.parse(args.slice(args.indexOf("["))) as string[];
    assert.equal(command[0], "node");
    assert.ok((COMMANDS as readonly string[]).includes(command[2]!), `the healthcheck runs "${command[2]}", which matrix-dma-bridge does not know`);
    const exposed = keyword(final, "EXPOSE").flatMap((e) => e.getArguments().map((a) => a.getValue()));
    assert.ok(exposed.includes("29340"), "the appservice port (the config's default) is exposed");
  });

  it("copies only paths that exist: the build context from the repository, the build stage's from the built tree", () => {
    assert.ok(existsSync(join(root, "dist", "src", "cli", "main.js")), "run `npm run build` first");
    const stageNames = new Set(stages.map((s) => s.name).filter((n) => n !== null));
    // The build stage's WORKDIR holds the repository's files plus what npm ci and tsc make, as this checkout does.
    const buildDir = workdirAt(stages[0]!, stages[0]!.instructions.at(-1)!);
    let checked = 0;
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i): i is Copy => i.getKeyword() === "COPY")) {
        const { from, sources } = copyPaths(stage, copy as Copy);
        for (const source of sources) {
          checked++;
          if (from === null) {
            assert.ok(!posix.isAbsolute(source) && !source.includes(".."), `${source}: the build context is the repository`);
            assert.ok(existsSync(join(root, source)), `COPY ${source}: not in the repository`);
            assert.ok(!dockerIgnored(ignorePatterns, posix.normalize(source)), `COPY ${source}: excluded by .dockerignore`);
          } else {
            assert.ok(stageNames.has(from), `COPY --from=${from}: no such stage`);
            const relative = posix.relative(buildDir, source);
            assert.ok(!relative.startsWith(".."), `COPY --from=${from} ${source}: outside the stage's ${buildDir}`);
            assert.ok(existsSync(join(root, relative)), `COPY --from=${from} ${source}: ${relative} is neither in the repository nor built`);
          }
        }
      }
    }
    assert.ok(checked >= 8, `only ${checked} paths were checked`);
  });

  it("starts a program that the final stage copied in", () => {
    // Where each file of the final image comes from: destination directory -> the repository path copied there.
    const mounts: { destination: string; source: string }[] = [];
    const buildDir = workdirAt(stages[0]!, stages[0]!.instructions.at(-1)!);
    for (const copy of final.instructions.filter((i): i is Copy => i.getKeyword() === "COPY")) {
      const { from, sources, destination, intoDirectory } = copyPaths(final, copy as Copy);
      for (const source of sources) {
        const repoPath = from === null ? source : posix.relative(buildDir, source);
        mounts.push({ destination: intoDirectory ? posix.join(destination, posix.basename(repoPath)) : destination, source: repoPath });
      }
    }
    mounts.sort((a, b) => b.destination.length - a.destination.length);
    const inRepo = (imagePath: string) => {
      for (const m of mounts) {
        if (imagePath === m.destination || imagePath.startsWith(`${m.destination}/`)) return join(root, m.source, posix.relative(m.destination, imagePath));
      }
      return null;
    };
    const programs = [...keyword(final, "ENTRYPOINT").map(jsonWords), [(() => {
      const args = keyword(final, "HEALTHCHECK")[0]!.getArgumentsContent()!;
      return (JSON.parse(args.slice(args.indexOf("["))) as string[])[1]!;
    })()]];
    for (const words of programs) {
      const script = words.find((w) => w.endsWith(".js"))!;
      const local = inRepo(script);
      assert.ok(local !== null && existsSync(local), `${script} is not in the image`);
    }
    assert.equal(inRepo("/opt/matrix-dma-bridge/dist/src/x.js"), join(root, "dist/src/x.js"), "paths map as the test expects");
    assert.equal(inRepo("/opt/matrix-dma-bridge/LICENSE"), join(root, "LICENSE"));
    assert.equal(inRepo("/usr/local/lib/x.js"), null);
  });

  it("keeps local state out of the build context", () => {
    for (const secret of ["config.yaml", "registration.yaml", "provider-key.pem", "data/bridge.db", "node_modules/x", "dist/src/cli/main.js", ".git/config"]) {
      assert.ok(dockerIgnored(ignorePatterns, secret), `${secret} would be sent to the builder`);
    }
    assert.ok(!dockerIgnored(ignorePatterns, "src/cli/main.ts"));
  });
});
