// The gatekeeper under bad input and interruptions: malformed frames, lost connections, crashes, replaced
// connections and rate limits, against a real `dma-gatekeeper serve` child process.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { textContent } from "../../src/protocol/content-builders.js";
import { ClientFrameSchema, EnvelopeSchema, EnvelopeType, ErrorCode, type SendResult } from "../../src/protocol/gen/interop_pb.js";
import { makeEnvelope } from "../../src/protocol/envelope.js";
import { messageIdToString, newMessageId } from "../../src/protocol/message-id.js";
import { GatekeeperProcess } from "../../src/gatekeeper/process.js";
import { TestProvider, type TestMatrixUser } from "./peer.js";

const ANNA = "+4915112345678";
const tel = (e164: string) => `tel:${e164}`;

describe("gatekeeper robustness", function () {
  this.timeout(120_000);
  let gk: GatekeeperProcess;
  let provider: TestProvider;
  let alice: TestMatrixUser;

  before(async () => {
    gk = await GatekeeperProcess.start();
    provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna", { sendReceipts: false });
    alice = await provider.user("alice");
    await alice.uploadKeys();
  });

  after(async () => {
    await gk?.stop();
  });

  it("answers 1,000 malformed frames with one error each and keeps serving", async () => {
    const conn = await provider.connect();
    try {
      const badSends = new Set<bigint>();
      const frames: (Uint8Array | string)[] = [];
      for (let i = 0; i < 1000; i++) {
        switch (i % 5) {
          case 0: // random bytes
            frames.push(Uint8Array.from([0xff, ...randomBytes(1 + (i % 40))]));
            break;
          case 1: // a text frame
            frames.push(`not a frame ${i}`);
            break;
          case 2: // valid protobuf without a kind
            frames.push(toBinary(ClientFrameSchema, create(ClientFrameSchema, {})));
            break;
          case 3: {
            // a Send whose envelope breaks the spec (bad id length): answered with SendResult INVALID and its seq
            const seq = BigInt(100_000 + i);
            badSends.add(seq);
            const envelope = create(EnvelopeSchema, { version: 1, id: Uint8Array.of(1, 2), timestampMs: BigInt(Date.now()), sender: alice.uri, senderDevice: 1, recipient: tel(ANNA), recipientDevice: 1, type: EnvelopeType.MESSAGE, ciphertext: Uint8Array.of(1) });
            frames.push(toBinary(ClientFrameSchema, create(ClientFrameSchema, { kind: { case: "send", value: { seq, envelopes: [envelope] } } })));
            break;
          }
          default: // an Ack with a bad recipient URI
            frames.push(toBinary(ClientFrameSchema, create(ClientFrameSchema, { kind: { case: "ack", value: { id: newMessageId(), recipient: "nobody", recipientDevice: 1 } } })));
        }
      }
      for (const f of frames) conn.sendRaw(f);
      const deadline = Date.now() + 30_000;
      while (conn.frames.length < 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(conn.frames.length, 1000, "every malformed frame gets exactly one answer");
      const errors = conn.frames.filter((f) => f.kind.case === "error");
      const results = conn.frames.filter((f) => f.kind.case === "sendResult");
      assert.equal(errors.length, 800);
      assert.ok(errors.every((f) => f.kind.case === "error" && f.kind.value.code === ErrorCode.INVALID && f.kind.value.detail.length > 0));
      assert.equal(results.length, 200);
      for (const f of results) {
        assert.ok(f.kind.case === "sendResult");
        assert.equal(f.kind.value.ok, false);
        assert.equal(f.kind.value.code, ErrorCode.INVALID);
        assert.ok(badSends.has(f.kind.value.seq), "the SendResult names the offending Send");
      }

      // Same connection, still serving.
      conn.sendFrame({ kind: { case: "ping", value: { nonce: 42n } } });
      const pong = await conn.waitFor((f) => f.kind.case === "pong");
      assert.equal(pong.kind.case === "pong" && pong.kind.value.nonce, 42n);
      const sent = await alice.send(conn, tel(ANNA), textContent("still works"));
      assert.equal(sent.result.ok, true, sent.result.detail);
      await gk.waitForMessage(ANNA, (m) => m.messageId === sent.id);
    } finally {
      await conn.close();
    }
  });

  it("redelivers unacknowledged envelopes after reconnects and a crash, in order, until acknowledged", async () => {
    // Make sure Anna has a session with alice (she answers on it).
    let conn = await provider.connect();
    const hello = await alice.send(conn, tel(ANNA), textContent("hello"));
    assert.equal(hello.result.ok, true);
    await gk.waitForMessage(ANNA, (m) => m.messageId === hello.id);
    await conn.close();

    // Sent while the provider is offline.
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) ids.push(await gk.sendAs(ANNA, { to: alice.uri, text }));

    conn = await provider.connect();
    await conn.waitFor(() => conn.deliveries().length >= 3);
    const first = conn.deliveries();
    const texts: (string | undefined)[] = [];
    for (const e of first) texts.push((await alice.decrypt(e)).content.message?.conversation);
    assert.deepEqual(texts, ["one", "two", "three"]);
    assert.deepEqual(first.map((e) => messageIdToString(e.id)), ids);
    conn.ack(first[0]!);
    // Ping after the Ack: the pong proves the Ack was processed before we drop the connection.
    conn.sendFrame({ kind: { case: "ping", value: { nonce: 1n } } });
    await conn.waitFor((f) => f.kind.case === "pong");
    await conn.close();

    conn = await provider.connect();
    await conn.waitFor(() => conn.deliveries().length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      conn.deliveries().map((e) => Buffer.from(e.id).toString("hex")),
      first.slice(1).map((e) => Buffer.from(e.id).toString("hex")),
      "the acknowledged envelope is gone, the rest come again in order",
    );
    await conn.close();

    await gk.crash();
    await gk.restart();
    conn = await provider.connect();
    await conn.waitFor(() => conn.deliveries().length >= 2);
    const afterCrash = conn.deliveries();
    assert.deepEqual(afterCrash.map((e) => e.ciphertext), first.slice(1).map((e) => e.ciphertext));
    for (const e of afterCrash) conn.ack(e);
    conn.sendFrame({ kind: { case: "ping", value: { nonce: 2n } } });
    await conn.waitFor((f) => f.kind.case === "pong");
    await conn.close();

    conn = await provider.connect();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(conn.deliveries().length, 0, "nothing is redelivered once acknowledged");
    await conn.close();
  });

  it("keeps accepted messages for simulated users across a crash", async () => {
    const conn = await provider.connect();
    const sent = await alice.send(conn, tel(ANNA), textContent("survives"));
    assert.equal(sent.result.ok, true);
    await conn.close();
    await gk.crash();
    await gk.restart();
    const got = await gk.waitForMessage(ANNA, (m) => m.messageId === sent.id);
    assert.equal((got.content as any).message.conversation, "survives");
  });

  it("replaces an older connection of the same provider with a newer one", async () => {
    const older = await provider.connect();
    const newer = await provider.connect();
    const closed = await older.closed;
    assert.equal(closed.code, 4000);
    newer.sendFrame({ kind: { case: "ping", value: { nonce: 7n } } });
    await newer.waitFor((f) => f.kind.case === "pong");
    await newer.close();
  });

  it("refuses the WebSocket with 401 for an expired token", async () => {
    const token = await provider.token({ issuedAgoSeconds: 400, lifetimeSeconds: 300 });
    await assert.rejects(provider.connect(token), /401/);
    const userToken = await provider.token({ sub: alice.uri });
    const conn = await provider.connect(userToken);
    assert.equal((await conn.closed).code, 4003, "a user token cannot open the provider socket");
  });
});

describe("gatekeeper rate limit", function () {
  this.timeout(60_000);
  let gk: GatekeeperProcess;

  after(async () => {
    await gk?.stop();
  });

  it("answers RATE_LIMITED with retry_after_ms once a provider's burst is used up", async () => {
    gk = await GatekeeperProcess.start({ rateLimit: { burst: 3, perSecond: 1 } });
    const provider = new TestProvider("bridge1", "example.org", () => gk.url);
    await gk.addProvider(provider.id, provider.publicKey, [provider.domain]);
    await gk.addUser(ANNA, "Anna", { sendReceipts: false });
    const alice = await provider.user("alice");
    await alice.uploadKeys();
    const conn = await provider.connect();
    try {
      const results: SendResult[] = [];
      for (let i = 0; i < 4; i++) results.push((await alice.send(conn, tel(ANNA), textContent(`m${i}`))).result);
      assert.deepEqual(results.map((r) => r.ok), [true, true, true, false]);
      assert.equal(results[3]!.code, ErrorCode.RATE_LIMITED);
      assert.ok(results[3]!.retryAfterMs > 0 && results[3]!.retryAfterMs <= 1000, `retry after ${results[3]!.retryAfterMs} ms`);
      // A refused send is not counted against the checks before the rate limit: an invalid one still says INVALID.
      const bad = makeEnvelope({ id: newMessageId(), timestampMs: BigInt(Date.now()), sender: alice.uri, senderDevice: 1, recipient: "tel:+4915100000001", recipientDevice: 1, type: EnvelopeType.MESSAGE, ciphertext: Uint8Array.of(1) });
      assert.equal((await conn.send([bad])).code, ErrorCode.UNKNOWN_USER);
      await new Promise((r) => setTimeout(r, results[3]!.retryAfterMs + 50));
      assert.equal((await alice.send(conn, tel(ANNA), textContent("later"))).result.ok, true);
    } finally {
      await conn.close();
    }
  });
});
