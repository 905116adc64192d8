// The third-party inbox end to end (harness Synapse, reference gatekeeper, bridge process): a space per user named
// for the network holding the management room and the portals (added when opened, removed when left), and who may
// reach the user (`reachable everyone|contacts|nobody`), with the refusals the gatekeeper reports to the sender.
import assert from "node:assert/strict";
import { withBridgeDatabase } from "../support/test-database.js";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { startWorld, type World } from "./world.js";

const ANNA = "+4915112345678";
const BERT = "+4915133333333";

describe("bridge end to end: the user's space and who may reach them", function () {
  this.timeout(120_000);
  let w: World;
  let mgmt: string;
  let space: string;
  let anna: string;
  let failed = false;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    w = await startWorld("inbox", [{ phone: ANNA, name: "Anna" }, { phone: BERT, name: "Bert" }]);
    mgmt = await w.user.createDm(w.bot);
    await w.user.waitForEvent("the bot's help", (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).includes("start-chat"));
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-8000));
    await w?.stop();
  });

  /** The space's children as the homeserver has them (a child without `via` was removed). */
  async function children(spaceId: string): Promise<string[]> {
    const state = (await w.user.client.roomState(spaceId)) as unknown as { type: string; state_key: string; content: { via?: unknown } }[];
    return state.filter((e) => e.type === "m.space.child" && Array.isArray(e.content.via) && e.content.via.length > 0).map((e) => e.state_key).sort();
  }
  const waitForChildren = (spaceId: string, want: string[]) =>
    w.user.waitFor(`the space's children to be ${want.join(", ")}`, async () => {
      const have = await children(spaceId);
      return JSON.stringify(have) === JSON.stringify([...want].sort()) ? have : undefined;
    });
  const reply = (startsWith: string) => w.user.waitForEvent(`the bot's "${startsWith}"`, (e) => e.roomId === mgmt && e.sender === w.bot && String(e.content.body).startsWith(startsWith));
  async function refusal(phone: string, messageId: string): Promise<string> {
    return w.user.waitFor(`the refusal of ${messageId}`, async () => (await w.gk.refusals(phone)).find((r) => r.messageId.toUpperCase() === messageId.toUpperCase())?.code);
  }

  it("invites the user to a space named for the network, holding the management room", async () => {
    space = await w.user.acceptInviteFrom(w.bot);
    const state = (await w.user.client.roomState(space)) as unknown as { type: string; content: Record<string, unknown> }[];
    assert.equal(state.find((e) => e.type === "m.room.create")?.content.type, "m.space");
    assert.equal(state.find((e) => e.type === "m.room.name")?.content.name, "WhatsApp");
    await waitForChildren(space, [mgmt]);
  });

  it("adds a portal to the space when it is opened", async () => {
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    anna = await w.user.acceptInviteFrom(w.puppet(ANNA));
    await waitForChildren(space, [mgmt, anna]);
  });

  it("with reachable contacts, lets the numbers the user wrote to through and refuses the rest as blocked", async () => {
    await w.user.sendText(mgmt, "reachable contacts");
    await reply("✅ From now on, only your contacts can write to you");
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "you opened this chat" });
    await w.user.waitForEvent("Anna's message", (e) => e.roomId === anna && e.content.body === "you opened this chat");
    const id = await w.gk.sendAs(BERT, { to: w.userUri, text: "hello stranger" });
    assert.equal(await refusal(BERT, id), "BLOCKED");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(w.user.events.some((e) => e.content.body === "hello stranger" || e.sender === w.puppet(BERT)), false, "nothing of Bert's reached the user");
    await w.user.sendText(mgmt, "reachable");
    await reply("Now only your contacts can write to you");
  });

  it("with reachable nobody, refuses everyone; with everyone, lets a new number open a chat, which joins the space", async () => {
    await w.user.sendText(mgmt, "reachable nobody");
    await reply("✅ From now on, nobody can write to you");
    const id = await w.gk.sendAs(ANNA, { to: w.userUri, text: "not even me?" });
    assert.equal(await refusal(ANNA, id), "BLOCKED");

    await w.user.sendText(mgmt, "reachable everyone");
    await reply("✅ From now on, everyone on WhatsApp can write to you");
    await w.gk.sendAs(BERT, { to: w.userUri, text: "second try" });
    const bert = await w.user.acceptInviteFrom(w.puppet(BERT));
    await w.user.waitForEvent("Bert's message", (e) => e.roomId === bert && e.content.body === "second try");
    await waitForChildren(space, [mgmt, anna, bert]);
  });

  it("removes a portal the user left from the space", async () => {
    await w.user.client.leave(anna);
    const bert = (await children(space)).find((r) => r !== mgmt && r !== anna)!;
    await waitForChildren(space, [mgmt, bert]);
  });

  it("makes no new space for a user who left theirs, until they ask with `space`", async () => {
    const bert = (await children(space)).find((r) => r !== mgmt)!;
    await w.user.client.leave(space);
    await w.user.waitFor("the bridge to note that the user left the space", async () => {
      const row = await withBridgeDatabase(w.config, (db) => db.get<{ space_room: string | null; space_declined: unknown }>("SELECT space_room, space_declined FROM bridge_users WHERE user_id = ?", [w.user.userId]));
      return row?.space_room === null && Number(row.space_declined) === 1 ? true : undefined;
    });
    await w.user.sendText(mgmt, `start-chat ${ANNA}`);
    const again = await w.user.acceptInviteFrom(w.puppet(ANNA));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(w.user.client.getRooms().some((r) => r.getMyMembership() === "invite" && r.getMember(w.user.userId)?.events.member?.getSender() === w.bot), false, "no new space invite");

    await w.user.sendText(mgmt, "space");
    await reply("Your WhatsApp chats are in this space");
    const fresh = await w.user.acceptInviteFrom(w.bot);
    assert.notEqual(fresh, space);
    await waitForChildren(fresh, [mgmt, bert, again]);
  });
});
