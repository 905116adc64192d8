// Against the harness Synapse: an event too large for it is refused with an error the queues treat as permanent,
// and the parts splitForMatrix makes of the same text are all accepted.
import assert from "node:assert/strict";
import { isPermanent } from "../../src/app/queue-worker.js";
import { whatsAppDialect } from "../../src/networks/whatsapp/index.js";
import { splitForMatrix } from "../../src/core/text-limits.js";
import { MatrixClient } from "../../src/matrix/client.js";
import { MatrixApiError } from "../../src/matrix/errors.js";
import { getTestEnv, TEST_ENV_TIMEOUT_MS, type TestEnv } from "../harness/fixture.js";

describe("a text too large for one Matrix event (real Synapse)", function () {
  this.timeout(60_000);
  let env: TestEnv;
  let client: MatrixClient;
  let botId: string;
  let roomId: string;
  // 65,536 characters: the largest text the gatekeeper simulator composes, and more than Synapse takes in one event.
  const text = Array.from({ length: 2048 }, (_, k) => `*line* ${k}`.padEnd(31, ".")).join("\n");

  before(async function () {
    this.timeout(TEST_ENV_TIMEOUT_MS);
    env = await getTestEnv();
    client = new MatrixClient({ homeserverUrl: env.synapse.url, asToken: env.registration.as_token });
    botId = `@${env.registration.sender_localpart}:${env.synapse.serverName}`;
    roomId = await client.as(botId).createRoom({ preset: "private_chat" });
  });

  it("is refused whole with 413, which the queues give up on at once", async () => {
    const whole = { msgtype: "m.text", ...splitForMatrix(text, { maxBytes: 1_000_000, convert: whatsAppDialect.toMatrix }).parts[0]! };
    const err = await client
      .as(botId)
      .sendEvent(roomId, "m.room.message", whole, `too-large-${Date.now()}`)
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof MatrixApiError, String(err));
    assert.equal(err.status, 413);
    assert.equal(isPermanent(err), true);
  });

  it("is accepted in parts", async () => {
    const { parts, shownChars, totalChars } = splitForMatrix(text, { convert: whatsAppDialect.toMatrix });
    assert.ok(parts.length > 1);
    assert.equal(shownChars, totalChars);
    const txn = `parts-${Date.now()}`;
    for (const [k, p] of parts.entries()) await client.as(botId).sendEvent(roomId, "m.room.message", { msgtype: "m.text", ...p }, `${txn}-${k}`);
  });
});
