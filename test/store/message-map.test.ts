// A message ID is chosen by its sender: a remote must not be able to take over the mapping of someone else's message.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MappedMessage } from "../../src/store/message-map.js";
import { BridgeStore } from "../../src/store/store.js";

describe("store: message map", () => {
  let dir: string;
  let store: BridgeStore;
  let warnings: { details: object; message: string }[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "mdb-map-"));
    warnings = [];
    store = await BridgeStore.open(join(dir, "bridge.db"), { log: { warn: (details, message) => warnings.push({ details, message }) } });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const outgoing: MappedMessage = { matrixUser: "@a:x", remoteUri: "tel:+1", messageId: "M1", roomId: "!r:x", eventId: "$mine", direction: "out", sender: "matrix:u/a:x", timestamp: 10 };

  it("keeps the user's own message when an incoming one reuses its ID, and says so", async () => {
    assert.equal(await store.messages.put(outgoing), true);
    const collision: MappedMessage = { ...outgoing, eventId: "$theirs", direction: "in", sender: "tel:+1", timestamp: 20 };
    assert.equal(await store.messages.put(collision), false);
    assert.deepEqual(await store.messages.byMessageId("@a:x", "tel:+1", "M1"), outgoing);
    assert.equal(await store.messages.byEventId("!r:x", "$theirs"), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /keeping the first mapping/);
    assert.deepEqual(warnings[0]!.details, { messageId: "M1", direction: "in", keptMessageId: "M1", keptDirection: "out", roomId: "!r:x" });
  });

  it("keeps the first of two incoming messages with the same ID", async () => {
    const first: MappedMessage = { ...outgoing, eventId: "$in1", direction: "in", sender: "tel:+1" };
    assert.equal(await store.messages.put(first), true);
    assert.equal(await store.messages.put({ ...first, eventId: "$in2", timestamp: 99 }), false);
    assert.equal((await store.messages.byMessageId("@a:x", "tel:+1", "M1"))?.eventId, "$in1");
  });

  it("keeps the mapping of an event that another message ID claims", async () => {
    await store.messages.put(outgoing);
    assert.equal(await store.messages.put({ ...outgoing, messageId: "M2" }), false);
    assert.equal((await store.messages.byEventId("!r:x", "$mine"))?.messageId, "M1");
    assert.equal(await store.messages.byMessageId("@a:x", "tel:+1", "M2"), undefined);
  });

  it("treats the same mapping put again (a retried post) as no conflict", async () => {
    await store.messages.put(outgoing);
    assert.equal(await store.messages.put(outgoing), true);
    assert.equal(warnings.length, 0);
  });

  it("maps the same message ID separately in another chat", async () => {
    await store.messages.put(outgoing);
    assert.equal(await store.messages.put({ ...outgoing, remoteUri: "tel:+2", eventId: "$other" }), true);
  });
});
