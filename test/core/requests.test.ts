// Message requests in the core, over the fakes and the real store: a first message from a number the user never
// chatted with waits in the management room; accept, block and ignore (by command or reaction), the per-sender cap,
// expiry, the user's own switch, and that nothing is lost when the core is made anew over the same store.
import assert from "node:assert/strict";
import type { MatrixEvent } from "../../src/core/bridge.js";
import { BridgeCore } from "../../src/core/bridge.js";
import { defang } from "../../src/core/requests.js";
import { ALICE, ANNA, ANNA_PUPPET, BOT, coreWorld, inboxEntry, type CoreWorld, type CoreWorldOptions } from "./fakes.js";

const MGMT = "!mgmt:example.org";

let seq = 0;
function inMgmt(type: string, content: Record<string, unknown>): MatrixEvent {
  seq++;
  return { type, room_id: MGMT, sender: ALICE, event_id: `$r${seq}`, origin_server_ts: 1_800_000_000_000 + seq, content };
}
const say = (body: string) => inMgmt("m.room.message", { msgtype: "m.text", body });
const react = (eventId: string, key: string) => inMgmt("m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: eventId, key } });

describe("core: message requests", () => {
  let w: CoreWorld;
  async function open(options: CoreWorldOptions = {}): Promise<void> {
    w = await coreWorld({ safety: true, directory: { [ANNA]: "Anna" }, ...options, bridge: { message_requests: "on", ...options.bridge } });
    await w.store.users.ensure(ALICE, `local:${ALICE}`);
    await w.store.users.setManagementRoom(ALICE, MGMT);
  }
  afterEach(async () => {
    await w?.close();
    w = undefined as unknown as CoreWorld;
  });

  const botNotices = () => w.matrix.notices().filter((n) => n.asUser === BOT && n.roomId === MGMT).map((n) => n.body);
  const puppetTexts = () => w.matrix.events().filter((e) => e.asUser === ANNA_PUPPET && e.content.msgtype === "m.text").map((e) => e.content.body);
  const fromAnna = (text: string) => w.core.handleRemoteEntry(inboxEntry({ kind: "message", text }));

  it("holds a first message from an unknown number as a request: no portal, a notice with a defanged preview", async () => {
    await open();
    await fromAnna("Win a prize at https://evil.example.com/claim now");
    assert.deepEqual(w.matrix.called("createPortalRoom"), []);
    const [notice] = botNotices();
    assert.match(notice!, /^📨 Message request from ~4915112345678 \("Anna" in the FakeNet directory\), who was not in your chats before:/);
    assert.match(notice!, /> Win a prize at hxxps\[:\/\/\]evil\[\.\]example\[\.\]com\/claim now/);
    assert.match(notice!, /"accept ~4915112345678"[^]*✅ accept, 🚫 block, 🗑️ ignore/);
    assert.equal(w.matrix.events().at(-1)?.txnId.startsWith("req-"), true);
    const request = await w.store.requests.get(ALICE, ANNA);
    assert.equal(request?.held, 1);
    assert.ok(request?.noticeEventId);
  });

  it("accepting opens the portal and delivers the held messages in order, also after a restart in between", async () => {
    await open();
    await fromAnna("one");
    await fromAnna("two");
    assert.equal(botNotices().length, 1, "one notice per request");
    // A restart: a new core over the same store and sides.
    const again = new BridgeCore({ config: w.ctx.config, store: w.store, matrix: w.matrix, remote: w.remote, log: w.ctx.log });
    await again.handleMatrixEvent(say("accept 4915112345678"));
    assert.equal(w.matrix.called("createPortalRoom").length, 1);
    assert.deepEqual(puppetTexts(), ["one", "two"]);
    assert.match(botNotices().at(-1)!, /^✅ You accepted ~4915112345678: https:\/\/matrix\.to\/#\/!room\d+:example\.org \(2 messages delivered there\)$/);
    assert.equal(await w.store.requests.get(ALICE, ANNA), undefined);
    await fromAnna("three");
    assert.deepEqual(puppetTexts(), ["one", "two", "three"], "now a known chat: straight to the portal");
  });

  it("a reaction on the notice answers it: 🚫 blocks at the network and drops the messages", async () => {
    await open();
    await fromAnna("spam");
    const noticeId = (await w.store.requests.get(ALICE, ANNA))!.noticeEventId!;
    await w.core.handleMatrixEvent(react(noticeId, "🚫"));
    assert.deepEqual([...w.remote.safety!.blocks], [ANNA]);
    assert.equal(await w.store.requests.get(ALICE, ANNA), undefined);
    assert.deepEqual(puppetTexts(), []);
    assert.match(botNotices().at(-1)!, /^🚫 You blocked ~4915112345678/);
  });

  it("ignoring drops the request; a later message opens a new one", async () => {
    await open();
    await fromAnna("hello?");
    const noticeId = (await w.store.requests.get(ALICE, ANNA))!.noticeEventId!;
    await w.core.handleMatrixEvent(react(noticeId, "🗑️"));
    assert.equal(await w.store.requests.get(ALICE, ANNA), undefined);
    await fromAnna("hello again");
    assert.equal((await w.store.requests.get(ALICE, ANNA))?.held, 1);
    assert.equal(botNotices().filter((b) => b.startsWith("📨")).length, 2);
    assert.deepEqual(puppetTexts(), []);
  });

  it("keeps at most the per-sender cap and says how many more were not kept", async () => {
    await open({ bridge: { message_request_max_held: 2 } });
    for (const t of ["a", "b", "c", "d"]) await fromAnna(t);
    const request = await w.store.requests.get(ALICE, ANNA);
    assert.deepEqual([request?.held, request?.overCap], [2, 2]);
    await w.core.handleMatrixEvent(say("accept 4915112345678"));
    assert.deepEqual(puppetTexts(), ["a", "b"]);
    assert.match(botNotices().at(-1)!, /2 more were not kept/);
  });

  it("expires, with a word to the user", async () => {
    await open();
    await fromAnna("anyone?");
    const request = (await w.store.requests.get(ALICE, ANNA))!;
    assert.equal(await w.core.expireRequests(request.expiresAt - 1), 0);
    assert.equal(await w.core.expireRequests(request.expiresAt), 1);
    assert.equal(await w.store.requests.get(ALICE, ANNA), undefined);
    assert.equal(botNotices().at(-1), "⌛ The message request from ~4915112345678 expired; its message was dropped.");
  });

  it("lists requests, and a user can switch them off for themselves", async () => {
    await open();
    await w.core.handleMatrixEvent(say("requests"));
    assert.equal(botNotices().at(-1), "You have no message requests.");
    await fromAnna("hi");
    await w.core.handleMatrixEvent(say("requests"));
    assert.match(botNotices().at(-1)!, /^Message requests:\n• ~4915112345678 — 1 message, expires \d{4}-\d\d-\d\d$/);
    await w.core.handleMatrixEvent(say("ignore 4915112345678"));
    await w.core.handleMatrixEvent(say("requests off"));
    await fromAnna("direct now");
    assert.deepEqual(puppetTexts(), ["direct now"]);
  });

  it("is off by config, and for a user without a management room", async () => {
    await open({ bridge: { message_requests: "off" } });
    await fromAnna("straight through");
    assert.deepEqual(puppetTexts(), ["straight through"]);
    await w.close();
    await open();
    await w.store.users.setManagementRoom(ALICE, null);
    await fromAnna("nowhere to ask");
    assert.deepEqual(puppetTexts(), ["nowhere to ask"]);
  });

  it("the block command closes an open request", async () => {
    await open();
    await fromAnna("hi");
    await w.core.handleMatrixEvent(say("block 4915112345678"));
    assert.equal(await w.store.requests.get(ALICE, ANNA), undefined);
    await w.core.handleMatrixEvent(say("accept 4915112345678"));
    assert.equal(botNotices().at(-1), "There is no message request from ~4915112345678.");
  });
});

it("core: defang keeps links from being followed", () => {
  assert.equal(defang("see http://a.example.org/x and www.b.com"), "see hxxp[://]a[.]example[.]org/x and www[.]b[.]com");
  assert.equal(defang("nothing to see"), "nothing to see");
});
