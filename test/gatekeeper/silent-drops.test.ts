// A simulated phone throws some envelopes away without a word: a reused ratchet counter, ciphertext that does not
// authenticate. The gatekeeper records each with its reason (GET /admin/discarded), so a test can fail on a message
// no user will ever see. Here a provider makes both happen on purpose against a real gatekeeper process.
import assert from "node:assert/strict";
import { textContent } from "../../src/protocol/content-builders.js";
import { encodeContent } from "../../src/protocol/content.js";
import { makeEnvelope } from "../../src/protocol/envelope.js";
import { EnvelopeType } from "../../src/protocol/gen/interop_pb.js";
import { newMessageId, messageIdToString } from "../../src/protocol/message-id.js";
import { encryptTo } from "../../src/protocol/signal/sessions.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider, type ProviderConnection, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const BEN = "+4915187654321";
const tel = (e164: string) => `tel:${e164}`;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("silent drops on the simulated devices are recorded", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let alice: TestMatrixUser;
  let conn: ProviderConnection;

  before(async () => {
    gk = await GatekeeperProcess.start();
    const provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna");
    await gk.addUser(BEN, "Ben");
    alice = await provider.user("alice");
    await alice.uploadKeys();
    conn = await provider.connect();
  });
  after(async () => {
    await conn?.close();
    await gk?.stop();
  });

  it("records nothing while every message is read", async () => {
    for (const text of ["one", "two", "three"]) {
      const sent = await alice.send(conn, tel(BEN), textContent(text));
      await gk.waitForMessage(BEN, (m) => m.messageId === sent.id);
    }
    assert.deepEqual(await gk.discarded(BEN), []);
    await gk.assertNothingDiscarded();
  });

  it("records a reused ratchet counter (the sender's session state rolled back one step) as duplicate-message", async () => {
    const first = await alice.send(conn, tel(ANNA), textContent("before the rollback"));
    await gk.waitForMessage(ANNA, (m) => m.messageId === first.id);

    // The sender encrypts and the gatekeeper accepts, but the new ratchet state is never stored (a crash between
    // the two): the next message is encrypted with the same counter.
    const uow = await alice.store.begin();
    const enc = await encryptTo(uow, { uri: tel(ANNA), deviceId: 1 }, encodeContent(textContent("sent, then forgotten")));
    const lostId = newMessageId();
    const result = await conn.send([
      makeEnvelope({ id: lostId, timestampMs: BigInt(Date.now()), sender: alice.uri, senderDevice: 1, recipient: tel(ANNA), recipientDevice: 1, type: enc.type === "prekey" ? EnvelopeType.PREKEY_MESSAGE : EnvelopeType.MESSAGE, ciphertext: enc.ciphertext, recipientRegistrationId: enc.remoteRegistrationId }),
    ]);
    assert.equal(result.ok, true);
    uow.discard();
    await gk.waitForMessage(ANNA, (m) => m.messageId === messageIdToString(lostId));

    const reused = await alice.send(conn, tel(ANNA), textContent("same counter again"));
    assert.equal(reused.result.ok, true, "the gatekeeper cannot see inside the ciphertext: it accepts");
    const [d] = await waitFor("the discard", async () => {
      const list = await gk.discarded(ANNA);
      return list.length > 0 ? list : undefined;
    });
    assert.equal(d!.reason, "duplicate-message");
    assert.equal(d!.messageId, reused.id);
    assert.equal(d!.sender, alice.uri);
    assert.equal(d!.deviceId, 1);
    assert.ok(!(await gk.received(ANNA)).some((m) => m.messageId === reused.id && (m.content as { message?: unknown }).message), "Anna never sees it");
  });

  it("records ciphertext that does not authenticate as invalid-message, and assertNothingDiscarded names both", async () => {
    const before = (await gk.discarded(ANNA)).length;
    // Reading Anna's delivery receipt confirms the session, so what alice encrypts next is a plain SignalMessage
    // (version, body, 8-byte MAC) and the last bytes are the MAC.
    const receipt = await conn.waitForDelivery((e) => e.sender === tel(ANNA));
    conn.ack(receipt);
    await alice.decrypt(receipt);
    // A fresh counter (committed, so later messages move on), with one bit flipped inside the MAC.
    const uow = await alice.store.begin();
    const enc = await encryptTo(uow, { uri: tel(ANNA), deviceId: 1 }, encodeContent(textContent("to be corrupted")));
    await uow.commit();
    assert.equal(enc.type, "message");
    const corrupted = Uint8Array.from(enc.ciphertext);
    corrupted[corrupted.length - 3]! ^= 0x40;
    const badId = newMessageId();
    const res = await conn.send([
      makeEnvelope({ id: badId, timestampMs: BigInt(Date.now()), sender: alice.uri, senderDevice: 1, recipient: tel(ANNA), recipientDevice: 1, type: EnvelopeType.MESSAGE, ciphertext: corrupted, recipientRegistrationId: enc.remoteRegistrationId }),
    ]);
    assert.equal(res.ok, true);
    const list = await waitFor("the second discard", async () => {
      const l = await gk.discarded(ANNA);
      return l.length > before ? l : undefined;
    });
    const bad = list.at(-1)!;
    assert.equal(bad.messageId, messageIdToString(badId));
    assert.equal(bad.reason, "invalid-message");
    assert.match(bad.detail, /decryption failed|MAC/i, `libsignal's reason is kept: ${bad.detail}`);

    await assert.rejects(gk.assertNothingDiscarded(), (err: Error) => /discarded 2 envelope\(s\)/.test(err.message) && err.message.includes("duplicate-message"));
    assert.equal((await gk.discarded()).length, 2, "all users' discards");
    assert.deepEqual(await gk.discarded(BEN), []);
  });
});
