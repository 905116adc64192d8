// The store suites that must hold on SQLite and on PostgreSQL share this: one describe per engine, a fresh location
// per call (a file in a temporary folder, or a new database on the shared test server), reopenable as often as a test
// needs, and PostgreSQL skipped with a reason where the machine has none.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, needPostgres } from "../harness/postgres.js";

export type EngineName = "sqlite" | "postgres";

export interface StoreEngine {
  name: EngineName;
  /** Where a new, empty store lives: what `BridgeStore.open` takes. */
  location(): Promise<string>;
}

export function describeOnBothEngines(title: string, body: (engine: StoreEngine) => void): void {
  for (const name of ["sqlite", "postgres"] as const) {
    describe(`${title} (${name})`, function () {
      this.timeout(60_000);
      const dirs: string[] = [];
      before(async function () {
        if (name === "postgres") await needPostgres(this, `the PostgreSQL run of "${title}"`);
      });
      after(() => {
        for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
      });
      body({
        name,
        async location() {
          if (name === "postgres") return createTestDatabase();
          const dir = mkdtempSync(join(tmpdir(), "mdb-store-"));
          dirs.push(dir);
          return join(dir, "bridge.db");
        },
      });
    });
  }
}
