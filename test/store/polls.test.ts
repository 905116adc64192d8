// The poll store on both engines: a poll's secret comes back byte for byte after a reopen (a lost or altered secret
// makes every vote of the poll unreadable), a redelivered poll keeps the first row, and polls are per user and chat.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BridgeStore } from "../../src/store/store.js";
import type { PollRow } from "../../src/store/polls.js";
import { describeOnBothEngines } from "./on-both-engines.js";

const poll = (over: Partial<PollRow> = {}): PollRow => ({
  matrixUser: "@alice:example.org",
  remoteUri: "tel:+4915112345678",
  messageId: "3EB0C7A1F2D3E4B5A6C7D8",
  creator: "tel:+4915112345678",
  secret: new Uint8Array(randomBytes(32)),
  question: "Lunch — where?",
  options: ["Pizza 🍕", "Ramen", "Pizza"],
  answerIds: ["a0", "a1", "a2"],
  maxSelections: 1,
  matrixFlavour: "stable",
  ...over,
});

describeOnBothEngines("store: polls", (engine) => {
  it("returns a poll as it was put, secret and option order included, after a reopen", async () => {
    const where = await engine.location();
    const p = poll({ secret: new Uint8Array([0, 255, ...randomBytes(29), 0]) });
    let store = await BridgeStore.open(where);
    await store.polls.put(p);
    await store.close();
    store = await BridgeStore.open(where);
    assert.deepEqual(await store.polls.get(p.matrixUser, p.remoteUri, p.messageId), p);
    await store.close();
  });

  it("keeps the first row of a redelivered poll, and keys polls by user, chat and message", async () => {
    const store = await BridgeStore.open(await engine.location());
    const first = poll({ matrixFlavour: "unstable", maxSelections: 0 });
    await store.polls.put(first);
    await store.polls.put(poll({ messageId: first.messageId, question: "replaced?" }));
    assert.deepEqual(await store.polls.get(first.matrixUser, first.remoteUri, first.messageId), first);
    assert.equal(await store.polls.get("@bob:example.org", first.remoteUri, first.messageId), undefined);
    assert.equal(await store.polls.get(first.matrixUser, "tel:+4915100000000", first.messageId), undefined);
    assert.equal(await store.polls.get(first.matrixUser, first.remoteUri, "other"), undefined);
    await store.close();
  });
});
