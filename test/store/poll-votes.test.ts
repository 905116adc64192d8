// The vote store on both engines: votes come back as put (after a reopen), a redelivered vote keeps its first row,
// and the standing vote is the voter's newest one not redacted, per user, chat, poll and voter.
import assert from "node:assert/strict";
import { UserForgetting } from "../../src/store/forget-user.js";
import { BridgeStore } from "../../src/store/store.js";
import type { PollVoteRow } from "../../src/store/poll-votes.js";
import { describeOnBothEngines } from "./on-both-engines.js";

const USER = "@alice:example.org";
const CHAT = "tel:+4915112345678";
const POLL = "3EB0C7A1F2D3E4B5A6C7D8";
const ME = "tel:+4915100000001";
let n = 0;
const vote = (over: Partial<PollVoteRow> = {}): PollVoteRow => ({
  matrixUser: USER,
  remoteUri: CHAT,
  messageId: `V${++n}`,
  pollMessageId: POLL,
  voter: ME,
  selected: [2, 0],
  timestamp: 1_800_000_000_000 + n,
  ...over,
});

describeOnBothEngines("store: poll votes", (engine) => {
  it("returns a vote as it was put after a reopen, and keeps the first row of a redelivered vote", async () => {
    const where = await engine.location();
    const v = vote({ selected: [] });
    let store = await BridgeStore.open(where);
    await store.pollVotes.put(v);
    await store.pollVotes.put({ ...v, selected: [1] });
    await store.close();
    store = await BridgeStore.open(where);
    assert.deepEqual(await store.pollVotes.get(USER, CHAT, v.messageId), { ...v, redacted: false });
    assert.equal(await store.pollVotes.get("@bob:example.org", CHAT, v.messageId), undefined);
    await store.close();
  });

  it("the standing vote is the newest not redacted, of that voter in that poll; `except` leaves one out", async () => {
    const store = await BridgeStore.open(await engine.location());
    const old = vote({ timestamp: 1000 });
    const newer = vote({ timestamp: 2000, selected: [1] });
    await store.pollVotes.put(newer);
    await store.pollVotes.put(old);
    await store.pollVotes.put(vote({ timestamp: 3000, voter: CHAT }));
    await store.pollVotes.put(vote({ timestamp: 4000, pollMessageId: "OTHER" }));
    await store.pollVotes.put(vote({ timestamp: 5000, remoteUri: "tel:+4915199999999" }));
    assert.equal((await store.pollVotes.standing(USER, CHAT, POLL, ME))?.messageId, newer.messageId);
    assert.equal((await store.pollVotes.standing(USER, CHAT, POLL, ME, newer.messageId))?.messageId, old.messageId);
    await store.pollVotes.markRedacted(USER, CHAT, newer.messageId);
    assert.equal((await store.pollVotes.get(USER, CHAT, newer.messageId))?.redacted, true);
    assert.equal((await store.pollVotes.standing(USER, CHAT, POLL, ME))?.messageId, old.messageId);
    await store.pollVotes.markRedacted(USER, CHAT, old.messageId);
    assert.equal(await store.pollVotes.standing(USER, CHAT, POLL, ME), undefined);
    await store.close();
  });

  it("forgetting the user forgets their votes", async () => {
    const store = await BridgeStore.open(await engine.location());
    await store.users.ensure(USER, "tel:+4915100000001");
    const v = vote();
    await store.pollVotes.put(v);
    await new UserForgetting(store.db).forget(USER);
    assert.equal(await store.pollVotes.get(USER, CHAT, v.messageId), undefined);
    await store.close();
  });
});
