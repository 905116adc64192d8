// Crypto items queued by a bridge from before the crypto lane lost its NUL character are still handled in that lane
// after the upgrade (migration 15), not stranded in a lane no worker reads.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CRYPTO_LANE } from "../../src/store/appservice-queue.js";
import { openDatabase } from "../../src/store/database.js";
import { MIGRATIONS } from "../../src/store/migrations.js";

describe("store migration 15: the crypto lane", () => {
  it("moves items queued in the old NUL-prefixed lane to the new one and leaves room lanes alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "mdb-lane-"));
    try {
      const path = join(dir, "bridge.db");
      const old = openDatabase(path, MIGRATIONS.filter((m) => m.version < 15));
      const insert = old.prepare("INSERT INTO matrix_inbound (kind, room_id, payload) VALUES (?, ?, '{}')");
      insert.run("to_device", "\u0000crypto");
      insert.run("event", "!room:x");
      old.close();
      const upgraded = openDatabase(path, MIGRATIONS);
      try {
        const lanes = (upgraded.prepare("SELECT room_id FROM matrix_inbound ORDER BY seq").all() as { room_id: string }[]).map((r) => r.room_id);
        assert.deepEqual(lanes, [CRYPTO_LANE, "!room:x"]);
      } finally {
        upgraded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
