// Messages between a provider-side Matrix user (real libsignal, plain ws client) and simulated users of a real
// `dma-gatekeeper serve` child process, in both directions, with the gatekeeper's refusals.
import assert from "node:assert/strict";
import { ChatStateKind, ReceiptType, textContent } from "../../src/protocol/content-builders.js";
import type { Content } from "../../src/protocol/content.js";
import { EnvelopeType, ErrorCode, type Envelope } from "../../src/protocol/gen/interop_pb.js";
import { makeEnvelope } from "../../src/protocol/envelope.js";
import { newMessageId } from "../../src/protocol/message-id.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider, type ProviderConnection, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const BEN = "+4915187654321";
const CARL = "+4915155555555";
const tel = (e164: string) => `tel:${e164}`;

describe("gatekeeper messaging", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let alice: TestMatrixUser;
  let conn: ProviderConnection;

  /** Receives the next envelope from `sender`, acknowledges it and decrypts it as alice. */
  async function receiveFrom(sender: string, after: number) {
    const env = await conn.waitForDelivery((e) => e.sender === sender && conn.deliveries().indexOf(e) >= after);
    conn.ack(env);
    return { env, ...(await alice.decrypt(env)) };
  }

  before(async () => {
    gk = await GatekeeperProcess.start();
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna");
    await gk.addUser(BEN, "Ben", { devices: 2 });
    await gk.addUser(CARL, "Carl", { optedIn: false });
    alice = await provider.user("alice");
    await alice.uploadKeys();
    conn = await provider.connect();
  });

  after(async () => {
    await conn?.close();
    await gk?.stop();
  });

  it("delivers the first message of a fresh PQXDH session and returns a delivery receipt", async () => {
    const sent = await alice.send(conn, tel(ANNA), textContent("hello Anna"));
    assert.equal(sent.result.ok, true, sent.result.detail);
    assert.equal(sent.envelopes[0]!.type, EnvelopeType.PREKEY_MESSAGE);
    const got = await gk.waitForMessage(ANNA, (m) => m.messageId === sent.id);
    assert.deepEqual(got.content, { message: { conversation: "hello Anna" } });
    assert.equal(got.sender, alice.uri);

    const receipt = await receiveFrom(tel(ANNA), 0);
    assert.equal(receipt.content.receipt?.type, ReceiptType.DELIVERED);
    assert.deepEqual(receipt.content.receipt?.messageIds, [sent.id]);
    // Anna's phone answered on the session alice's PreKey message started.
    assert.equal(receipt.env.type, EnvelopeType.MESSAGE);
  });

  it("carries replies, reactions, edits, revokes, read receipts and typing from a simulated user", async () => {
    const original = await alice.send(conn, tel(ANNA), textContent("what's up?"));
    assert.equal(original.result.ok, true);
    await gk.waitForMessage(ANNA, (m) => m.messageId === original.id);
    const start = conn.deliveries().length;

    const replyId = await gk.sendAs(ANNA, { to: alice.uri, text: "all good", replyTo: original.id });
    const reactId = await gk.sendAs(ANNA, { to: alice.uri, react: { id: original.id, emoji: "👍" } });
    await gk.sendAs(ANNA, { to: alice.uri, edit: { id: replyId, text: "all very good" } });
    await gk.sendAs(ANNA, { to: alice.uri, revoke: reactId });
    await gk.sendAs(ANNA, { to: alice.uri, read: [original.id] });
    await gk.sendAs(ANNA, { to: alice.uri, typing: "composing" });

    const seen: { env: Envelope; content: Content }[] = [];
    for (let i = 0; i < 6; i++) {
      const env = await conn.waitForDelivery((e) => e.sender === tel(ANNA) && !seen.some((s) => s.env === e) && conn.deliveries().indexOf(e) >= start);
      conn.ack(env);
      seen.push({ env, ...(await alice.decrypt(env)) });
    }
    const [reply, reaction, edit, revoke, read, typing] = seen.map((s) => s.content);
    const ext = reply!.message?.extendedTextMessage;
    assert.equal(ext?.text, "all good");
    assert.equal(ext?.contextInfo?.stanzaId, original.id);
    assert.equal(ext?.contextInfo?.participant, alice.uri);
    assert.equal(reaction!.message?.reactionMessage?.text, "👍");
    assert.equal(reaction!.message?.reactionMessage?.key?.id, original.id);
    assert.equal(reaction!.message?.reactionMessage?.key?.fromMe, false, "alice wrote the message Anna reacted to");
    assert.equal(edit!.message?.protocolMessage?.editedMessage?.conversation, "all very good");
    assert.equal(edit!.message?.protocolMessage?.key?.id, replyId);
    assert.equal(revoke!.message?.protocolMessage?.key?.id, reactId);
    assert.equal(read!.receipt?.type, ReceiptType.READ);
    assert.deepEqual(read!.receipt?.messageIds, [original.id]);
    assert.equal(typing!.chatState?.state, ChatStateKind.COMPOSING);
    // Delivery order is the order the simulated user sent in.
    assert.deepEqual(seen.map((s) => s.env.timestampMs), [...seen.map((s) => s.env.timestampMs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("delivers to every device of a user with two devices", async () => {
    const sent = await alice.send(conn, tel(BEN), textContent("hi Ben"));
    assert.equal(sent.result.ok, true, sent.result.detail);
    assert.equal(sent.envelopes.length, 2);
    await gk.waitForMessage(BEN, (m) => m.messageId === sent.id && m.deviceId === 1);
    await gk.waitForMessage(BEN, (m) => m.messageId === sent.id && m.deviceId === 2);
    // One delivery receipt per user, not per device.
    const receipt = await receiveFrom(tel(BEN), 0);
    assert.deepEqual(receipt.content.receipt?.messageIds, [sent.id]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(conn.deliveries().filter((e) => e.sender === tel(BEN)).length, 1);
  });

  it("answers STALE_DEVICES when a device was added mid-conversation, then delivers to all devices", async () => {
    const before = (await gk.user(BEN)).devices;
    const framesBefore = conn.frames.length;
    const added = await gk.addDevice(BEN);
    assert.equal(added.deviceId, 3);
    const changed = await conn.waitFor((f) => f.kind.case === "devicesChanged", 10_000, framesBefore);
    assert.deepEqual(changed.kind.value, { ...changed.kind.value, user: tel(BEN), devices: [1, 2, 3] });

    const stale = await alice.send(conn, tel(BEN), textContent("to the old list"), { devices: before });
    assert.equal(stale.result.ok, false);
    assert.equal(stale.result.code, ErrorCode.STALE_DEVICES);
    assert.deepEqual(stale.result.currentDevices, [1, 2, 3]);
    assert.deepEqual(stale.result.staleDevices, []);

    const retry = await alice.send(conn, tel(BEN), textContent("to everyone"));
    assert.equal(retry.result.ok, true, retry.result.detail);
    assert.equal(retry.envelopes.find((e) => e.recipientDevice === 3)?.type, EnvelopeType.PREKEY_MESSAGE);
    for (const device of [1, 2, 3]) await gk.waitForMessage(BEN, (m) => m.messageId === retry.id && m.deviceId === device);
    assert.equal((await gk.received(BEN)).some((m) => (m.content as any).message?.conversation === "to the old list"), false);
  });

  it("announces a removed device and refuses sends that still include it", async () => {
    const before = (await gk.user(BEN)).devices;
    const framesBefore = conn.frames.length;
    await gk.removeDevice(BEN, 3);
    const changed = await conn.waitFor((f) => f.kind.case === "devicesChanged", 10_000, framesBefore);
    assert.deepEqual(changed.kind.case === "devicesChanged" && changed.kind.value.devices, [1, 2]);
    const stale = await alice.send(conn, tel(BEN), textContent("three devices?"), { devices: before });
    assert.equal(stale.result.code, ErrorCode.STALE_DEVICES);
    assert.deepEqual(stale.result.currentDevices, [1, 2]);
  });

  it("reports a reset identity: STALE_DEVICES for the re-registered device, identityChanged on the new session", async () => {
    const before = (await gk.user(ANNA)).devices;
    const reset = await gk.resetIdentity(ANNA, 1);
    assert.notEqual(reset.registrationId, before[0]!.registrationId);

    const stale = await alice.send(conn, tel(ANNA), textContent("still there?"), { devices: before });
    assert.equal(stale.result.code, ErrorCode.STALE_DEVICES);
    assert.deepEqual(stale.result.staleDevices, [1]);
    assert.deepEqual(stale.result.currentDevices, [1]);

    const again = await alice.send(conn, tel(ANNA), textContent("new phone?"));
    assert.equal(again.result.ok, true, again.result.detail);
    assert.equal(again.identityChanged, true, "the provider side must see the identity change");
    const got = await gk.waitForMessage(ANNA, (m) => m.messageId === again.id);
    assert.equal((got.content as any).message.conversation, "new phone?");
  });

  it("refuses recipients that did not opt in or do not allow the provider (NOT_OPTED_IN)", async () => {
    const res = await provider.http("GET", `/v1/directory/${encodeURIComponent(tel(CARL))}`);
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { errcode: string }).errcode, "NOT_OPTED_IN");
    const dummy = fakeEnvelope(alice.uri, tel(CARL), 1);
    assert.equal((await conn.send([dummy])).code, ErrorCode.NOT_OPTED_IN);

    const other = new TestProvider("other", "other.example", () => gk.url);
    await gk.addProvider(other.id, other.publicKey, [other.domain]);
    await gk.optIn(CARL, [other.id]);
    assert.equal((await conn.send([fakeEnvelope(alice.uri, tel(CARL), 1)])).code, ErrorCode.NOT_OPTED_IN);
    await gk.optIn(CARL);
    const sent = await alice.send(conn, tel(CARL), textContent("hello Carl"));
    assert.equal(sent.result.ok, true, sent.result.detail);
  });

  it("refuses a blocked sender (BLOCKED) until unblocked", async () => {
    await gk.block(ANNA, alice.uri);
    const blocked = await alice.send(conn, tel(ANNA), textContent("let me in"));
    assert.equal(blocked.result.ok, false);
    assert.equal(blocked.result.code, ErrorCode.BLOCKED);
    await gk.unblock(ANNA, alice.uri);
    const ok = await alice.send(conn, tel(ANNA), textContent("thanks"));
    assert.equal(ok.result.ok, true, ok.result.detail);
  });

  it("refuses unknown recipients and senders outside the provider's domains", async () => {
    assert.equal((await conn.send([fakeEnvelope(alice.uri, "tel:+4915100000001", 1)])).code, ErrorCode.UNKNOWN_USER);
    assert.equal((await conn.send([fakeEnvelope("matrix:u/mallory:evil.example", tel(ANNA), 1)])).code, ErrorCode.UNAUTHORIZED);
    const res = await provider.http("GET", `/v1/directory/${encodeURIComponent("tel:+4915100000001")}`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errcode: string }).errcode, "UNKNOWN_USER");
  });

  it("answers a retransmitted Send without delivering twice", async () => {
    const id = newMessageId();
    const first = await alice.send(conn, tel(CARL), textContent("once"), { id });
    assert.equal(first.result.ok, true);
    // The same envelopes again, as after a lost SendResult.
    const second = await conn.send(first.envelopes);
    assert.equal(second.ok, true);
    await gk.waitForMessage(CARL, (m) => m.messageId === first.id);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await gk.received(CARL)).filter((m) => m.messageId === first.id).length, 1);
  });
});

function fakeEnvelope(sender: string, recipient: string, device: number): Envelope {
  return makeEnvelope({
    id: newMessageId(),
    timestampMs: BigInt(Date.now()),
    sender,
    senderDevice: 1,
    recipient,
    recipientDevice: device,
    type: EnvelopeType.MESSAGE,
    ciphertext: Uint8Array.from([1, 2, 3]),
  });
}
