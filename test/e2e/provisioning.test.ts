// The provisioning API over HTTP against the real bridge process: credentials (none, wrong, a user who may not use
// the bridge), then each endpoint with real traffic behind it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { TEST_ENV_TIMEOUT_MS } from "../harness/fixture.js";
import { freePort } from "../harness/free-port.js";
import { startWorld, type World } from "./world.js";
import { AdminApiError } from "../../src/gatekeeper/process.js";

const ANNA = "+4915912345678";
const DORA = "+4915955555555"; // not opted in
const NOBODY = "+4915999999999";

type Json = Record<string, any>;

describe("provisioning API (bridge process, over HTTP)", function () {
  this.timeout(120_000);
  const secret = randomBytes(24).toString("hex");
  let w: World;
  let base: string;
  let failed = false;

  const call = async (method: string, path: string, options: { user?: string | null; auth?: string | null } = {}): Promise<{ status: number; body: Json }> => {
    const user = options.user === undefined ? w.user.userId : options.user;
    const auth = options.auth === undefined ? secret : options.auth;
    const url = `${base}${path}${user === null ? "" : `${path.includes("?") ? "&" : "?"}user_id=${encodeURIComponent(user)}`}`;
    const response = await fetch(url, { method, headers: auth === null ? {} : { authorization: `Bearer ${auth}` } });
    return { status: response.status, body: (await response.json()) as Json };
  };

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS + 60_000);
    const port = await freePort();
    base = `http://127.0.0.1:${port}/_matrix/provision/v3`;
    w = await startWorld(
      "prov",
      [{ phone: ANNA, name: "Anna" }, { phone: DORA, name: "Dora", optedIn: false }],
      { provisioning: { enabled: true, listen: `127.0.0.1:${port}`, shared_secret: secret } },
    );
  });
  afterEach(function () {
    if (this.currentTest?.state === "failed") failed = true;
  });
  after(async () => {
    if (failed && w) console.error(w.bridge.logs.slice(-6000));
    await w?.stop();
  });

  it("refuses requests without the secret, with a wrong one, without a user or for a user who may not use the bridge", async () => {
    assert.deepEqual(await call("GET", "/whoami", { auth: null }), { status: 401, body: { errcode: "M_MISSING_TOKEN", error: "Missing the shared secret (Authorization: Bearer)" } });
    assert.deepEqual(await call("GET", "/whoami", { auth: `${secret}x` }), { status: 403, body: { errcode: "M_UNKNOWN_TOKEN", error: "Wrong shared secret" } });
    assert.equal((await call("GET", "/nothing-here", { auth: null })).status, 401, "not even a 404 without the secret");
    assert.equal((await call("GET", "/nothing-here")).body.errcode, "M_UNRECOGNIZED");
    assert.deepEqual((await call("GET", "/whoami", { user: null })).body.errcode, "M_INVALID_PARAM");
    assert.deepEqual((await call("GET", "/whoami", { user: "eve" })).body.errcode, "M_INVALID_PARAM");
    assert.deepEqual(await call("GET", "/whoami", { user: "@eve:elsewhere.example" }), { status: 403, body: { errcode: "M_FORBIDDEN", error: "@eve:elsewhere.example may not use this bridge" } });
  });

  it("says who the caller is and resolves numbers in the directory", async () => {
    const me = await call("GET", "/whoami");
    assert.equal(me.status, 200);
    assert.deepEqual(me.body, { user_id: w.user.userId, network: { displayname: "WhatsApp" }, management_room: null, connected: true });

    const anna = await call("GET", `/resolve_identifier/${encodeURIComponent("+49 159 1234 5678")}`);
    assert.equal(anna.status, 200, JSON.stringify(anna.body));
    assert.deepEqual(anna.body, { id: ANNA, name: "Anna", identifiers: [`tel:${ANNA}`], mxid: w.puppet(ANNA), dm_room_mxid: null });
    assert.deepEqual(await call("GET", `/resolve_identifier/${encodeURIComponent(NOBODY)}`), { status: 404, body: { errcode: "M_NOT_FOUND", error: "the network refused: unknown user" } });
    assert.equal((await call("GET", `/resolve_identifier/${encodeURIComponent(DORA)}`)).body.errcode, "DMA_NOT_OPTED_IN");
    const bad = await call("GET", "/resolve_identifier/hello");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errcode, "M_INVALID_PARAM");
  });

  it("starts a chat, lists it, gives the safety number once there is a session, blocks and unblocks, and deletes it", async () => {
    const dm = await call("POST", `/create_dm/${encodeURIComponent(ANNA)}`);
    assert.equal(dm.status, 200, JSON.stringify(dm.body));
    assert.match(dm.body.dm_room_mxid, /^!/);
    const room = await w.user.acceptInviteFrom(w.puppet(ANNA));
    assert.equal(room, dm.body.dm_room_mxid);
    assert.equal((await call("GET", `/resolve_identifier/${encodeURIComponent(ANNA)}`)).body.dm_room_mxid, room);

    const chats = await call("GET", "/chats");
    assert.deepEqual(chats.body, { chats: [{ id: ANNA, identifier: `tel:${ANNA}`, name: "Anna (WhatsApp)", mxid: w.puppet(ANNA), room_id: room, encrypted: false, blocked: false }] });

    const before = await call("GET", `/safety_number/${encodeURIComponent(ANNA)}`);
    assert.deepEqual(before.body, { identifier: `tel:${ANNA}`, devices: [{ device_id: 1, safety_number: null }] });
    await w.user.sendText(room, "hello Anna");
    await w.gk.waitForMessage(ANNA, (m) => JSON.stringify(m.content).includes("hello Anna"), 20_000);
    const after = await call("GET", `/safety_number/${encodeURIComponent(ANNA)}`);
    assert.match(after.body.devices[0].safety_number, /^\d{60}$/);
    assert.deepEqual(await call("GET", `/safety_number/${encodeURIComponent(ANNA)}`), after, "the same number every time");

    assert.deepEqual((await call("POST", `/block/${encodeURIComponent(ANNA)}`)).body, { identifier: `tel:${ANNA}`, blocked: true });
    assert.equal((await call("GET", "/chats")).body.chats[0].blocked, true);
    assert.deepEqual((await w.gk.providerUserBlocks(w.userUri)).blocked, [`tel:${ANNA}`], "blocked at the gatekeeper, as the block command does");
    await assert.rejects(w.gk.sendAs(ANNA, { to: w.userUri, text: "while blocked" }), (err: Error) => err instanceof AdminApiError && err.errcode === "BLOCKED");
    assert.deepEqual((await call("POST", `/unblock/${encodeURIComponent(ANNA)}`)).body, { identifier: `tel:${ANNA}`, blocked: false });
    await w.gk.sendAs(ANNA, { to: w.userUri, text: "after unblocking" });
    await w.user.waitForEvent("the message after unblocking", (e) => e.roomId === room && e.content.body === "after unblocking");
    assert.equal(w.user.messagesIn(room).filter((e) => e.content.body === "while blocked").length, 0, "nothing came through while blocked");

    assert.deepEqual(await call("DELETE", `/chats/${encodeURIComponent(ANNA)}`), { status: 200, body: {} });
    await w.user.waitFor("the puppet to leave", () => (w.user.client.getRoom(room)?.getMember(w.puppet(ANNA))?.membership === "leave" ? true : undefined));
    assert.deepEqual((await call("GET", "/chats")).body, { chats: [] });
    assert.deepEqual(await call("DELETE", `/chats/${encodeURIComponent(ANNA)}`), { status: 404, body: { errcode: "M_NOT_FOUND", error: "No chat with this contact" } });
  });
});
