// Votes as bridged events of their own, through the core over the fake network: mapped both ways (receipts give
// message status, redactions and reactions find them), the user's redaction sends the vote that stands after it,
// a contact's vote of nothing is MSC3381's empty response, and replies to a vote quote its poll.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import type { OutgoingEvent, RemoteEvent } from "../../src/core/events.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, inboxEntry, openAnnaPortal, sentEvents, type CoreWorld } from "./fakes.js";

const ROOM = "!portal:example.org";
let seq = 0;
function event(type: string, content: Record<string, unknown>, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  seq++;
  return { type, room_id: ROOM, sender: ALICE, event_id: `$v${seq}`, origin_server_ts: 1_800_000_000_000 + seq * 1000, content, ...extra };
}
type Vote = Extract<OutgoingEvent, { kind: "poll_vote" }>;

describe("core: poll votes are bridged events", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld({ directory: { [ANNA]: "Anna" }, bridge: { message_status_events: true } });
    await openAnnaPortal(w, ROOM);
  });
  afterEach(async () => w.close());

  const deliver = async (ev: RemoteEvent, overrides: Partial<InboxEntry> = {}) => {
    const entry = inboxEntry(ev, overrides);
    await w.core.handleRemoteEntry(entry);
    return entry;
  };
  const send = async (type: string, content: Record<string, unknown>) => {
    const ev = event(type, content);
    await w.core.handleMatrixEvent(ev);
    return ev.event_id;
  };
  /** The Matrix user's poll (stable types), with answers park, lake, home. */
  const matrixPoll = () =>
    send("m.poll.start", {
      "m.poll": { question: { "m.text": [{ body: "Where?" }] }, kind: "m.disclosed", max_selections: 3, answers: ["park", "lake", "home"].map((id) => ({ "m.id": id, "m.text": [{ body: id }] })) },
      "m.text": [{ body: "Where?" }],
    });
  const vote = (startId: string, ...selections: string[]) => send("m.poll.response", { "m.selections": selections, "m.relates_to": { rel_type: "m.reference", event_id: startId } });
  const redact = (eventId: string) => send("m.room.redaction", { redacts: eventId });
  const votesSent = async () => (await sentEvents(w.store)).filter((e): e is Vote => e.kind === "poll_vote").map((v) => v.selected);
  /** Anna's poll on Matrix: its start event. */
  const contactPoll = async () => {
    const entry = await deliver({ kind: "poll", question: "Lunch?", options: ["Pizza", "Sushi"], maxSelections: 1 });
    return { pollId: entry.messageId, startId: (await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId))!.eventId };
  };
  const contactVote = async (pollId: string, options: string[]) => {
    const entry = await deliver({ kind: "poll_vote", pollId, vote: { network: "fake", value: { options } } });
    return { entry, posted: w.matrix.events().at(-1)! };
  };

  it("the user's vote is mapped in the transaction that queues it; its delivery receipt is a message status", async () => {
    const startId = await matrixPoll();
    const voteId = await vote(startId, "lake", "park");
    const mapped = await w.store.messages.byEventId(ROOM, voteId);
    assert.equal(mapped?.direction, "out");
    const outbox = await w.store.db.all<{ message_id: string }>("SELECT message_id FROM outbox ORDER BY seq");
    assert.equal(outbox.at(-1)?.message_id, mapped.messageId);
    assert.deepEqual(await votesSent(), [[1, 0]]);
    const stored = await w.store.pollVotes.get(ALICE, ANNA, mapped.messageId);
    assert.deepEqual(stored && { selected: stored.selected, voter: stored.voter, redacted: stored.redacted }, { selected: [1, 0], voter: `local:${ALICE}`, redacted: false });
    await deliver({ kind: "receipt", receipt: "delivered", messageIds: [mapped.messageId] });
    const status = w.matrix.events("com.beeper.message_send_status");
    assert.equal(status.length, 1);
    assert.deepEqual(status[0]!.content["m.relates_to"], { rel_type: "m.reference", event_id: voteId });
  });

  it("a vote in a disappearing chat does not disappear (an expired response would revert it)", async () => {
    await w.store.disappearing.setTimer(ALICE, ANNA, { seconds: 3600, setAt: 1 });
    const startId = await matrixPoll();
    await vote(startId, "home");
    const sent = await sentEvents(w.store);
    assert.equal((sent[0] as { disappearingSeconds?: number }).disappearingSeconds, 3600, "the poll itself carries the timer");
    assert.equal((sent[1] as { disappearingSeconds?: number }).disappearingSeconds, undefined);
    const scheduled = await w.store.db.all("SELECT event_id FROM disappearing_events");
    assert.equal(scheduled.length, 1, "only the poll is scheduled to expire");
  });

  it("redacting the standing vote sends the one before it, then a vote of nothing; redacting an older one sends nothing", async () => {
    const startId = await matrixPoll();
    const first = await vote(startId, "park");
    const second = await vote(startId, "lake", "home");
    assert.deepEqual(await votesSent(), [[0], [1, 2]]);
    await redact(second);
    assert.deepEqual(await votesSent(), [[0], [1, 2], [0]], "the first vote stands again");
    await redact(first);
    assert.deepEqual(await votesSent(), [[0], [1, 2], [0], []], "no vote is left: taken back");
    await redact(first);
    assert.deepEqual(await votesSent(), [[0], [1, 2], [0], []], "a second redaction of the same vote changes nothing");
    // A new vote, then redacting an older vote while it stands: the count does not change, nothing goes out.
    await vote(startId, "home");
    const older = await vote(startId, "park");
    await vote(startId, "lake");
    await redact(older);
    assert.deepEqual(await votesSent(), [[0], [1, 2], [0], [], [2], [0], [1]]);
    const last = (await sentEvents(w.store)).filter((e): e is Vote => e.kind === "poll_vote").at(-1)!;
    assert.equal(last.poll.ref.messageId, (await w.store.messages.byEventId(ROOM, startId))!.messageId);
    assert.deepEqual(w.matrix.notices(), []);
  });

  it("a contact's vote is posted and mapped; their vote of nothing is an empty response, as MSC3381 unvotes", async () => {
    const { pollId, startId } = await contactPoll();
    const { entry, posted } = await contactVote(pollId, ["Sushi"]);
    assert.equal(posted.type, "org.matrix.msc3381.poll.response");
    assert.deepEqual(posted.content, { "org.matrix.msc3381.poll.response": { answers: ["2"] }, "m.relates_to": { rel_type: "m.reference", event_id: startId } });
    const mapped = await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId);
    assert.equal(mapped?.direction, "in");
    const back = await contactVote(pollId, []);
    assert.deepEqual(back.posted.content["org.matrix.msc3381.poll.response"], { answers: [] });
    assert.deepEqual(w.matrix.called("redact"), [], "the earlier response is not redacted: that would revert, not take back");
    assert.deepEqual((await w.store.pollVotes.get(ALICE, ANNA, back.entry.messageId))?.selected, []);
    assert.ok(await w.store.messages.byMessageId(ALICE, ANNA, back.entry.messageId));
  });

  it("a contact's reaction to a vote lands on its response; a contact's reply to a vote quotes the poll", async () => {
    const { pollId, startId } = await contactPoll();
    const { entry, posted } = await contactVote(pollId, ["Pizza"]);
    const responseId = (await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId))!.eventId;
    assert.equal(posted.type, "org.matrix.msc3381.poll.response");
    await deliver({ kind: "reaction", targetId: entry.messageId, emoji: "👍" });
    assert.deepEqual(w.matrix.events("m.reaction").at(-1)?.content, { "m.relates_to": { rel_type: "m.annotation", event_id: responseId, key: "👍" } });
    await deliver({ kind: "message", text: "pizza it is", replyTo: { messageId: entry.messageId } });
    assert.deepEqual(w.matrix.messages().at(-1)?.content["m.relates_to"], { "m.in_reply_to": { event_id: startId } });
  });

  it("the user's reply to a vote quotes the poll; a reaction to a vote, an edit of one, or redacting the contact's, is refused with a reason", async () => {
    const startId = await matrixPoll();
    const pollMessageId = (await w.store.messages.byEventId(ROOM, startId))!.messageId;
    const annas = await deliver({ kind: "poll_vote", pollId: pollMessageId, vote: { network: "fake", value: { options: ["home"] } } });
    assert.equal(w.matrix.events("m.poll.response").at(-1)?.asUser, ANNA_PUPPET);
    const annasVoteId = (await w.store.messages.byMessageId(ALICE, ANNA, annas.messageId))!.eventId;
    const mine = await vote(startId, "park");
    await send("m.room.message", { msgtype: "m.text", body: "see my vote", "m.relates_to": { "m.in_reply_to": { event_id: mine } } });
    const reply = (await sentEvents(w.store)).at(-1)!;
    assert.equal(reply.kind, "message");
    assert.deepEqual(reply.kind === "message" && reply.replyTo, { messageId: pollMessageId, sender: `local:${ALICE}`, fromMe: true });
    const before = (await sentEvents(w.store)).length;
    await send("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: mine, key: "👍" } });
    assert.match(w.matrix.notices().at(-1)!.body, /shows votes only in the poll's count/);
    await send("m.room.message", { msgtype: "m.text", body: "* edited", "m.new_content": { msgtype: "m.text", body: "edited" }, "m.relates_to": { rel_type: "m.replace", event_id: mine } });
    assert.match(w.matrix.notices().at(-1)!.body, /a vote cannot be edited; vote again to change it/);
    await redact(annasVoteId);
    assert.match(w.matrix.notices().at(-1)!.body, /only your own votes can be taken back; ~4915112345678's vote still counts on FakeNet/);
    assert.equal((await sentEvents(w.store)).length, before, "none goes out");
  });
});
