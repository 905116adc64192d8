// The Matrix side against a real Synapse: Synapse pushes real transactions to our appservice endpoint, and the
// client drives puppets through the real client-server API while a real user watches.
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { Readable } from "node:stream";
import { pino } from "pino";
import { startAppserviceServer, type AppserviceServer, type TransactionSink } from "../../src/matrix/appservice-server.js";
import { MatrixClient } from "../../src/matrix/client.js";
import { MatrixApiError } from "../../src/matrix/errors.js";
import type { ClientEvent } from "../../src/matrix/events.js";
import type { AppserviceTransaction } from "../../src/matrix/transaction.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";
import { matrixRequest } from "../harness/matrix-request.js";
import type { RegisteredUser } from "../harness/synapse.js";

/** Keeps every transaction Synapse delivered, and can be told to fail deliveries. */
class RecordingSink implements TransactionSink {
  readonly deliveries: Array<{ txnId: string; txn: AppserviceTransaction; failed: boolean }> = [];
  failWhen: ((txn: AppserviceTransaction) => boolean) | undefined;

  async accept(txnId: string, txn: AppserviceTransaction): Promise<void> {
    const fail = this.failWhen?.(txn) ?? false;
    this.deliveries.push({ txnId, txn, failed: fail });
    if (fail) {
      this.failWhen = undefined;
      throw new Error("simulated store failure");
    }
  }

  accepted(): AppserviceTransaction[] {
    return this.deliveries.filter((d) => !d.failed).map((d) => d.txn);
  }

  async waitFor<T>(find: (sink: RecordingSink) => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async waitForEvent(eventId: string): Promise<ClientEvent> {
    return this.waitFor((s) => s.accepted().flatMap((t) => t.events).find((e) => e.event_id === eventId), `event ${eventId}`);
  }
}

function puppetId(env: TestEnv): string {
  // Fresh digits per run, so an external Synapse that keeps users between runs behaves like a fresh one.
  return `@wa_49${Date.now() % 1e9}${randomInt(1000, 9999)}:${env.synapse.serverName}`;
}

async function userRequest(env: TestEnv, user: RegisteredUser, method: "GET" | "POST" | "PUT", path: string, body?: unknown) {
  const res = await matrixRequest(env.synapse.url, method, path, { token: user.accessToken, ...(body === undefined ? {} : { body }) });
  assert.ok(res.status >= 200 && res.status < 300, `${method} ${path} as ${user.userId}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

describe("matrix side against Synapse", function () {
  let env: TestEnv;
  let server: AppserviceServer;
  let sink: RecordingSink;
  let client: MatrixClient;
  let botId: string;
  const queried: string[] = [];
  let alice: RegisteredUser;

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    env = await getTestEnv();
    sink = new RecordingSink();
    client = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token });
    botId = `@${env.registration.sender_localpart}:${env.synapse.serverName}`;
    server = await startAppserviceServer({
      bindAddress: "127.0.0.1",
      port: env.appservicePort,
      hsToken: env.registration.hs_token,
      sink,
      queryUser: async (userId) => {
        queried.push(userId);
        if (!/^@wa_[0-9]+:/.test(userId)) return false;
        await client.as(userId).ensureRegistered();
        return true;
      },
      logger: pino({ level: process.env["MDB_TEST_LOG"] ?? "silent" }),
    });
    // Synapse may have marked us down while nothing listened; a successful ping makes it resend at once.
    await client.pingHomeserver(env.registration.id);
    alice = await env.synapse.registerUser(`alice${randomBytes(4).toString("hex")}`);
  });

  after(async () => {
    await server?.close();
  });

  it("is reachable from Synapse (MSC2659 ping round trip)", async () => {
    const ms = await client.pingHomeserver(env.registration.id, "ping-test");
    assert.ok(ms >= 0);
  });

  it("receives a real invite and a real message as transactions", async () => {
    const { room_id: roomId } = (await userRequest(env, alice, "POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
      invite: [botId],
    })) as { room_id: string };

    const invite = await sink.waitFor(
      (s) => s.accepted().flatMap((t) => t.events).find((e) => e.room_id === roomId && e.type === "m.room.member" && e.state_key === botId),
      "the bot's invite",
    );
    assert.equal(invite.content["membership"], "invite");
    assert.equal(invite.sender, alice.userId);

    const bot = client.as(botId);
    assert.equal(await bot.join(roomId), roomId);
    const { event_id: eventId } = (await userRequest(env, alice, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, {
      msgtype: "m.text",
      body: "hello bridge",
    })) as { event_id: string };

    const event = await sink.waitForEvent(eventId);
    assert.equal(event.sender, alice.userId);
    assert.equal(event.room_id, roomId);
    assert.deepEqual(event.content, { msgtype: "m.text", body: "hello bridge" });
    assert.deepEqual(sink.deliveries.flatMap((d) => d.txn.rejected), [], "Synapse's events all pass validation");
  });

  it("answers 500 when the sink fails, and Synapse delivers the same transaction again", async function () {
    this.timeout(60_000);
    const { room_id: roomId } = (await userRequest(env, alice, "POST", "/_matrix/client/v3/createRoom", { invite: [botId] })) as {
      room_id: string;
    };
    await sink.waitFor((s) => s.accepted().flatMap((t) => t.events).find((e) => e.room_id === roomId && e.state_key === botId), "invite");
    await client.as(botId).join(roomId);

    sink.failWhen = (txn) => txn.events.some((e) => e.room_id === roomId && e.type === "m.room.message");
    const { event_id: eventId } = (await userRequest(env, alice, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t2`, {
      msgtype: "m.text",
      body: "try again",
    })) as { event_id: string };

    // Synapse's recoverer retries after 2 s of backoff.
    await sink.waitForEvent(eventId);
    const deliveries = sink.deliveries.filter((d) => d.txn.events.some((e) => e.event_id === eventId));
    assert.equal(deliveries.length, 2, "one failed delivery, one retry");
    assert.equal(deliveries[0]?.failed, true);
    assert.equal(deliveries[1]?.failed, false);
    assert.equal(deliveries[1]?.txnId, deliveries[0]?.txnId, "the retry carries the same transaction ID");
  });

  it("lets Synapse ask about an unregistered puppet, which then exists and can join", async () => {
    const puppet = puppetId(env);
    const { room_id: roomId } = (await userRequest(env, alice, "POST", "/_matrix/client/v3/createRoom", { invite: [puppet] })) as {
      room_id: string;
    };
    const invite = await sink.waitFor(
      (s) => s.accepted().flatMap((t) => t.events).find((e) => e.room_id === roomId && e.state_key === puppet),
      "the puppet's invite",
    );
    assert.equal(invite.content["membership"], "invite");
    assert.ok(queried.includes(puppet), "Synapse asked the user query endpoint before delivering the invite");
    // The user query registered the puppet, so it can act now.
    assert.equal(await client.as(puppet).join(roomId), roomId);
    const members = await client.as(puppet).getJoinedMembers(roomId);
    assert.ok(members.has(puppet));
    assert.ok(members.has(alice.userId));
  });

  describe("puppets", () => {
    let puppet: string;
    let dmRoom: string;
    const device = "WABRIDGE1";

    before(async () => {
      puppet = puppetId(env);
    });

    it("registers a puppet (twice is fine) and gives it a device to masquerade as", async () => {
      assert.equal(await client.as(puppet).ensureRegistered(), "registered");
      // A fresh client has no memory of the first registration, so this asks Synapse again.
      const other = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token });
      assert.equal(await other.as(puppet).ensureRegistered(), "already-registered");

      await client.as(puppet).ensureDevice(device, "WhatsApp bridge");
      await client.as(puppet).ensureDevice(device, "WhatsApp bridge (renamed)");
      assert.deepEqual(await client.as(puppet, device).whoami(), { userId: puppet, deviceId: device });
      await assert.rejects(client.as(puppet, "NOSUCHDEVICE").whoami(), (e: unknown) => e instanceof MatrixApiError && e.status === 400);
    });

    it("sets and reads a profile", async () => {
      const intent = client.as(puppet);
      await intent.setDisplayName("Jürgen (WhatsApp)");
      const avatar = await intent.uploadContent(Buffer.from("not really a png"), "image/png", "avatar.png");
      await intent.setAvatarUrl(avatar);
      assert.deepEqual(await client.as(botId).getProfile(puppet), { displayName: "Jürgen (WhatsApp)", avatarUrl: avatar });
      assert.equal(await intent.getProfile(`@wa_1999${randomInt(1e6)}:${env.synapse.serverName}`), null);
    });

    it("creates a DM with a real user and sends idempotently per transaction ID", async () => {
      const intent = client.as(puppet, device);
      dmRoom = await intent.createRoom({ preset: "trusted_private_chat", is_direct: true, invite: [alice.userId], name: "DM test" });
      const member = await intent.getStateEvent(dmRoom, "m.room.member", alice.userId);
      assert.equal(member?.["membership"], "invite");
      assert.equal(member?.["is_direct"], true);
      assert.equal(await intent.getStateEvent(dmRoom, "m.room.topic"), null);

      const txnId = `mdb-test-${randomBytes(6).toString("hex")}`;
      const content = { msgtype: "m.text", body: "Hallo aus WhatsApp" };
      const first = await intent.sendEvent(dmRoom, "m.room.message", content, txnId);
      const second = await intent.sendEvent(dmRoom, "m.room.message", content, txnId);
      assert.equal(second, first, "the repeated send returned the first event instead of a duplicate");
      const third = await intent.sendEvent(dmRoom, "m.room.message", content, `${txnId}-b`);
      assert.notEqual(third, first);

      await userRequest(env, alice, "POST", `/_matrix/client/v3/join/${encodeURIComponent(dmRoom)}`, {});
      const seen = (await userRequest(env, alice, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(dmRoom)}/event/${encodeURIComponent(first)}`)) as {
        sender: string;
        content: unknown;
      };
      assert.equal(seen.sender, puppet);
      assert.deepEqual(seen.content, content);

      const messages = (await userRequest(env, alice, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(dmRoom)}/messages?dir=b&limit=20`)) as {
        chunk: Array<{ type: string; content: { body?: string } }>;
      };
      const bodies = messages.chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body);
      assert.equal(bodies.length, 2, "exactly two messages: the repeated transaction ID did not send twice");
    });

    it("reads room state, members and single events", async () => {
      const intent = client.as(puppet);
      const state = await intent.getRoomState(dmRoom);
      assert.ok(state.some((e) => e.type === "m.room.create"));
      assert.ok(state.some((e) => e.type === "m.room.name" && e.content["name"] === "DM test"));
      const joined = await intent.getRoomMembers(dmRoom, { membership: "join" });
      assert.deepEqual(joined.map((e) => e.state_key).sort(), [alice.userId, puppet].sort());
      const members = await intent.getJoinedMembers(dmRoom);
      assert.equal(members.get(puppet)?.displayName, "Jürgen (WhatsApp)");
    });

    it("redacts idempotently, sends state, typing and receipts", async () => {
      const intent = client.as(puppet, device);
      const eventId = await intent.sendEvent(dmRoom, "m.room.message", { msgtype: "m.text", body: "oops" }, `r-${randomBytes(4).toString("hex")}`);
      const txnId = `redact-${randomBytes(4).toString("hex")}`;
      const redaction = await intent.redact(dmRoom, eventId, txnId, "sent by mistake");
      assert.equal(await intent.redact(dmRoom, eventId, txnId, "sent by mistake"), redaction);
      const redacted = await intent.getEvent(dmRoom, eventId);
      assert.deepEqual(redacted.content, {});

      await intent.sendStateEvent(dmRoom, "m.room.topic", "", { topic: "bridged" });
      assert.deepEqual(await intent.getStateEvent(dmRoom, "m.room.topic"), { topic: "bridged" });

      await intent.setTyping(dmRoom, true, 5_000);
      const typing = await sink.waitFor(
        (s) => s.accepted().flatMap((t) => t.ephemeral).find((e) => e.type === "m.typing" && e.room_id === dmRoom),
        "the puppet's typing notification as an ephemeral event",
      );
      assert.ok(Array.isArray(typing.content["user_ids"]));
      await intent.setTyping(dmRoom, false);

      await intent.sendReadReceipt(dmRoom, eventId);
      const { event_id: aliceEvent } = (await userRequest(env, alice, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(dmRoom)}/send/m.room.message/a1`, {
        msgtype: "m.text",
        body: "read this",
      })) as { event_id: string };
      await userRequest(env, alice, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(dmRoom)}/receipt/m.read/${encodeURIComponent(aliceEvent)}`, {});
      await sink.waitFor(
        (s) =>
          s
            .accepted()
            .flatMap((t) => t.ephemeral)
            .find((e) => e.type === "m.receipt" && e.room_id === dmRoom && aliceEvent in e.content),
        "alice's read receipt as an ephemeral event",
      );
    });

    it("receives to-device messages for a puppet's device", async () => {
      const txn = `td-${randomBytes(4).toString("hex")}`;
      await userRequest(env, alice, "PUT", `/_matrix/client/v3/sendToDevice/org.example.test/${txn}`, {
        messages: { [puppet]: { [device]: { nonce: txn } } },
      });
      const message = await sink.waitFor(
        (s) => s.accepted().flatMap((t) => t.toDevice).find((e) => e.content["nonce"] === txn),
        "the to-device message",
      );
      assert.equal(message.sender, alice.userId);
      assert.equal(message.to_user_id, puppet);
      assert.equal(message.to_device_id, device);
      assert.equal(message.type, "org.example.test");
    });

    it("hears about device list changes of users who share a room with a puppet (MSC3202)", async () => {
      const login = await matrixRequest(env.synapse.url, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: alice.userId }, password: alice.password },
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      await sink.waitFor(
        (s) => (s.accepted().some((t) => t.deviceLists.changed.includes(alice.userId)) ? true : undefined),
        "alice in device_lists.changed",
      );
    });

    it("uploads and downloads media (authenticated media, streamed)", async () => {
      const intent = client.as(puppet);
      const bytes = randomBytes(300_000);
      const fromBuffer = await intent.uploadContent(bytes, "application/octet-stream", "blob.bin");
      const chunks = (): Readable => Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]);
      const fromStream = await intent.uploadContent(chunks(), "application/octet-stream", undefined, bytes.length);
      await assert.rejects(intent.uploadContent(chunks(), "application/octet-stream"), /needs its size/);
      await assert.rejects(intent.uploadContent(chunks(), "application/octet-stream", undefined, bytes.length + 1));
      for (const mxc of [fromBuffer, fromStream]) {
        const media = await intent.downloadContent(mxc);
        const received: Buffer[] = [];
        for await (const chunk of media.stream) received.push(chunk as Buffer);
        assert.ok(Buffer.concat(received).equals(bytes), `${mxc} round-trips`);
        assert.equal(media.contentType, "application/octet-stream");
      }
      await assert.rejects(intent.downloadContent(fromBuffer, { maxBytes: 1000 }), /larger than the allowed 1000 bytes/);
      await assert.rejects(intent.downloadContent(`mxc://${env.synapse.serverName}/doesnotexist`), (e: unknown) => e instanceof MatrixApiError && e.status === 404);
    });

    it("keeps account data", async () => {
      const intent = client.as(puppet);
      assert.equal(await intent.getAccountData("org.example.bridge"), null);
      await intent.setAccountData("org.example.bridge", { portal: dmRoom });
      assert.deepEqual(await intent.getAccountData("org.example.bridge"), { portal: dmRoom });
      await intent.setRoomAccountData(dmRoom, "m.tag", { tags: { "u.bridge": {} } });
      assert.deepEqual(await intent.getRoomAccountData(dmRoom, "m.tag"), { tags: { "u.bridge": {} } });
    });

    it("leaves a room", async () => {
      await client.as(puppet).leave(dmRoom);
      const state = (await userRequest(env, alice, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(dmRoom)}/state/m.room.member/${encodeURIComponent(puppet)}`)) as {
        membership: string;
      };
      assert.equal(state.membership, "leave");
    });
  });
});
