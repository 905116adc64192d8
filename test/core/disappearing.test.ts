// Disappearing messages in the core: timer changes both ways (room state, notices, the contact told), messages of a
// disappearing chat scheduled for redaction both ways, and the sweeper redacting them on time.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import { DISAPPEARING_TIMER_STATE, describeTimer, secondsOfTimerState } from "../../src/core/disappearing.js";
import type { RemoteEvent } from "../../src/core/events.js";
import { EXPIRED_REASON, ExpirySweeper } from "../../src/core/expiry-sweeper.js";
import { parseTimer } from "../../src/core/outgoing/disappearing.js";
import type { InboxEntry } from "../../src/store/inbox.js";
import { ALICE, ANNA, ANNA_PUPPET, coreWorld, inboxEntry, sentEvents, type CoreWorld } from "./fakes.js";

const ROOM = "!portal:example.org";
const WEEK = 7 * 24 * 3600;
let seq = 0;
function event(type: string, content: Record<string, unknown>, extra: Partial<MatrixEvent> = {}): MatrixEvent {
  seq++;
  return { type, room_id: ROOM, sender: ALICE, event_id: `$d${seq}`, origin_server_ts: 1_800_000_000_000 + seq * 1000, content, ...extra };
}

describe("core: disappearing messages", () => {
  let w: CoreWorld;
  beforeEach(async () => {
    w = await coreWorld({ directory: { [ANNA]: "Anna" } });
    await w.store.users.ensure(ALICE, `local:${ALICE}`);
    await w.store.portals.upsert({ matrixUser: ALICE, remoteUri: ANNA, roomId: ROOM, encrypted: false });
  });
  afterEach(async () => w.close());

  const deliver = async (ev: RemoteEvent, overrides: Partial<InboxEntry> = {}) => {
    const entry = inboxEntry(ev, overrides);
    await w.core.handleRemoteEntry(entry);
    return entry;
  };
  const states = () => w.matrix.called("sendState").map((c) => ({ asUser: c.args[0], roomId: c.args[1], type: c.args[2], stateKey: c.args[3], content: c.args[4] }));
  const scheduled = () => w.store.db.all<{ room_id: string; event_id: string; redact_as: string; expires_at: number }>("SELECT room_id, event_id, redact_as, expires_at FROM disappearing_events ORDER BY expires_at");

  it("a contact's timer change sets the portal's state and says so, once", async () => {
    const entry = await deliver({ kind: "disappearing_timer", seconds: WEEK });
    assert.deepEqual(states(), [{ asUser: ANNA_PUPPET, roomId: ROOM, type: DISAPPEARING_TIMER_STATE, stateKey: "", content: { type: "after_send", timer: WEEK * 1000 } }]);
    assert.deepEqual(w.matrix.notices().map((n) => n.body), ["⏱ ~4915112345678 turned on disappearing messages: new messages disappear 7 days after they are sent."]);
    assert.deepEqual(await w.store.disappearing.timer(ALICE, ANNA), { seconds: WEEK, setAt: entry.timestamp });
    await deliver({ kind: "disappearing_timer", seconds: WEEK });
    assert.equal(states().length, 1, "the same timer again changes nothing");
    await deliver({ kind: "disappearing_timer", seconds: 0 });
    assert.deepEqual(states()[1]?.content, {});
    assert.match(w.matrix.notices()[1]!.body, /turned off disappearing messages/);
  });

  it("an older timer change than the one in force is ignored", async () => {
    await deliver({ kind: "disappearing_timer", seconds: WEEK }, { timestamp: 2_000_000_000_000 });
    await deliver({ kind: "disappearing_timer", seconds: 0 }, { timestamp: 1_900_000_000_000 });
    assert.equal((await w.store.disappearing.timer(ALICE, ANNA)).seconds, WEEK);
  });

  it("a message of a disappearing chat is posted and scheduled for redaction at its send time plus the timer; the timer follows it", async () => {
    const entry = await deliver({ kind: "message", text: "brb", expiresInSeconds: 60 } as RemoteEvent);
    const posted = await w.store.messages.byMessageId(ALICE, ANNA, entry.messageId);
    assert.ok(posted);
    assert.deepEqual(await scheduled(), [{ room_id: posted.roomId, event_id: posted.eventId, redact_as: ANNA_PUPPET, expires_at: entry.timestamp + 60_000 }]);
    assert.equal((await w.store.disappearing.timer(ALICE, ANNA)).seconds, 60, "WhatsApp's clients take the timer from messages too");
    assert.deepEqual(states()[0]?.content, { type: "after_send", timer: 60_000 });
  });

  it("the sweeper redacts what is due, as the puppet, and nothing early", async () => {
    let now = 1_000;
    const sweeper = new ExpirySweeper(w.ctx, () => now);
    await w.store.disappearing.schedule({ roomId: ROOM, eventId: "$a", redactAs: ANNA_PUPPET, expiresAt: 5_000 });
    await w.store.disappearing.schedule({ roomId: ROOM, eventId: "$b", redactAs: ANNA_PUPPET, expiresAt: 9_000 });
    await sweeper.sweep();
    assert.deepEqual(w.matrix.called("redact"), []);
    now = 5_000;
    await sweeper.sweep();
    const redactions = w.matrix.called("redact").map((c) => c.args);
    assert.equal(redactions.length, 1);
    assert.deepEqual([redactions[0]![0], redactions[0]![1], redactions[0]![2], redactions[0]![4]], [ANNA_PUPPET, ROOM, "$a", EXPIRED_REASON]);
    assert.deepEqual((await scheduled()).map((r) => r.event_id), ["$b"]);
    await sweeper.stop();
  });

  it("a redaction that fails is tried again later, and given up after a few tries", async () => {
    let now = 10_000;
    const sweeper = new ExpirySweeper(w.ctx, () => now);
    await w.store.disappearing.schedule({ roomId: ROOM, eventId: "$x", redactAs: ANNA_PUPPET, expiresAt: 10_000 });
    w.matrix.redact = async () => {
      throw new Error("M_FORBIDDEN");
    };
    await sweeper.sweep();
    const [row] = await scheduled();
    assert.ok(row && row.expires_at > now, "postponed");
    for (let i = 0; i < 10; i++) {
      now += 10 * 60_000;
      await sweeper.sweep();
    }
    assert.deepEqual(await scheduled(), []);
    assert.ok(w.logs.some((l) => l.msg === "gave up redacting an expired disappearing message"));
    await sweeper.stop();
  });

  it("the bridge's own sweeper wakes for a newly scheduled redaction", async () => {
    w.core.startTimers();
    await deliver({ kind: "message", text: "gone soon", expiresInSeconds: 1 } as RemoteEvent, { timestamp: Date.now() - 900 });
    const deadline = Date.now() + 3_000;
    while (w.matrix.called("redact").length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await w.core.stopTimers();
    assert.equal(w.matrix.called("redact").length, 1);
  });

  it("the Matrix user's messages in a disappearing chat carry the timer and are redacted on Matrix too", async () => {
    await w.store.disappearing.setTimer(ALICE, ANNA, { seconds: 3600, setAt: 1 });
    const ev = event("m.room.message", { msgtype: "m.text", body: "secret" });
    await w.core.handleMatrixEvent(ev);
    assert.deepEqual(await sentEvents(w.store), [{ kind: "message", text: "secret", emote: false, disappearingSeconds: 3600 }]);
    assert.deepEqual(await scheduled(), [{ room_id: ROOM, event_id: ev.event_id, redact_as: ANNA_PUPPET, expires_at: ev.origin_server_ts! + 3_600_000 }]);
  });

  it("the portal command sets the timer: state, notice, and the contact told; it is not sent as text", async () => {
    await w.core.handleMatrixEvent(event("m.room.message", { msgtype: "m.text", body: "!fake disappearing 7d" }));
    assert.deepEqual(await sentEvents(w.store), [{ kind: "disappearing_timer", seconds: WEEK }]);
    assert.deepEqual(states()[0]?.content, { type: "after_send", timer: WEEK * 1000 });
    assert.match(w.matrix.notices()[0]!.body, /^⏱ You turned on disappearing messages: new messages disappear 7 days/);
    await w.core.handleMatrixEvent(event("m.room.message", { msgtype: "m.text", body: "!fake disappearing 7 days" }));
    assert.equal(w.matrix.notices()[1]?.body, "⏱ Disappearing messages are already set to 7 days.");
    await w.core.handleMatrixEvent(event("m.room.message", { msgtype: "m.text", body: "!fake disappearing 3 weeks" }));
    assert.match(w.matrix.notices()[2]!.body, /"3 weeks" is not a timer FakeNet offers\. Use one of: off, 24h, 7d or 90d/);
    assert.equal((await sentEvents(w.store)).length, 1);
  });

  it("the user's own timer state event reaches the contact without the bridge setting the state again", async () => {
    await w.core.handleMatrixEvent(event(DISAPPEARING_TIMER_STATE, { type: "after_send", timer: 86_400_000 }, { state_key: "" }));
    assert.deepEqual(await sentEvents(w.store), [{ kind: "disappearing_timer", seconds: 86400 }]);
    assert.deepEqual(states(), []);
    await w.core.handleMatrixEvent(event(DISAPPEARING_TIMER_STATE, {}, { state_key: "" }));
    assert.deepEqual((await sentEvents(w.store))[1], { kind: "disappearing_timer", seconds: 0 });
  });

  it("reads and describes timers", () => {
    assert.equal(parseTimer(" 24H "), 86400);
    assert.equal(parseTimer("off"), 0);
    assert.equal(parseTimer("5d"), undefined);
    assert.equal(secondsOfTimerState({}), 0);
    assert.equal(secondsOfTimerState({ type: "after_read", timer: 5000 }), 5);
    assert.equal(secondsOfTimerState({ type: "sometimes", timer: 5000 }), undefined);
    assert.equal(describeTimer(90 * 86400), "90 days");
    assert.equal(describeTimer(3600), "1 hour");
    assert.equal(describeTimer(90), "90 seconds");
  });
});
