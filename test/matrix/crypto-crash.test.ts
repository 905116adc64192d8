// Crash safety of the crypto store: a bridge device encrypting as fast as it can is SIGKILLed (mid-encrypt: it is
// always inside one), restarted from its database, killed again, and so on. Every ciphertext it handed out before a
// kill must stay accounted for: the Megolm ratchet never goes back (no message index is used twice in a session, so
// no step was lost), and the peer decrypts every message, including those sent after each restart.
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeKeyDirectory } from "../../bench/fake-key-directory.js";
import { LocalOlmDevice } from "../../bench/olm-device.js";

type Json = Record<string, unknown>;
const CHILD = fileURLToPath(new URL("./crypto-crash-child.js", import.meta.url));
const USER = "@wa_4915100000001:example.org";
const DEVICE = "DMACRASHTEST1";
const PEER = "@alice:example.org";
const ROOM = "!crash:example.org";

/** The message index of a Megolm ciphertext (version byte, then field 1 as a varint). */
function megolmIndex(ciphertext: string): number {
  const bytes = Buffer.from(ciphertext, "base64");
  assert.equal(bytes[0], 3, "Megolm message version 3");
  assert.equal(bytes[1], 0x08, "the index field comes first");
  let value = 0;
  for (let i = 2, shift = 0; ; i++, shift += 7) {
    value += (bytes[i]! & 0x7f) * 2 ** shift;
    if (!(bytes[i]! & 0x80)) return value;
  }
}

describe("crypto store crash safety (SIGKILL mid-encrypt)", function () {
  this.timeout(120_000);
  const dbPath = join(mkdtempSync(join(tmpdir(), "mdb-crypto-crash-")), "bridge.db");
  const keys = new FakeKeyDirectory({
    actor: () => {
      throw new Error("not used");
    },
    isAppserviceUser: () => false,
    pushToDevice: () => undefined,
    deviceListChanged: () => undefined,
    badRequest: (m) => new Error(m),
  });
  const received: { n: number; content: Json }[] = [];
  let child: ChildProcess | undefined;

  after(() => child?.kill("SIGKILL"));

  /** Runs the sender until it has handed out `count` more messages, then SIGKILLs it right away. */
  function runAndKill(count: number): Promise<void> {
    const first = received.length === 0 ? 0 : received[received.length - 1]!.n + 1;
    const proc = fork(CHILD, [dbPath, USER, DEVICE, PEER, ROOM, String(first)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child = proc;
    let got = 0;
    return new Promise((resolve, reject) => {
      proc.on("message", (m: { kind: string; id?: number; type?: number; body?: Json; eventType?: string; txnId?: string; n?: number; content?: Json }) => {
        if (m.kind === "encrypted") {
          received.push({ n: m.n!, content: m.content! });
          if (++got === count) proc.kill("SIGKILL");
          return;
        }
        let res: unknown;
        switch (m.type) {
          case 0:
            res = { one_time_key_counts: keys.upload(USER, DEVICE, m.body!) };
            break;
          case 1:
            res = keys.query(USER, m.body!);
            break;
          case 2:
            res = keys.claim(m.body!);
            break;
          case 3:
            keys.sendToDevice(USER, m.eventType!, m.txnId!, m.body!);
            res = {};
            break;
          case 4:
            res = keys.uploadSignatures(m.body!);
            break;
          default:
            return reject(new Error(`unexpected request type ${String(m.type)}`));
        }
        if (proc.connected) proc.send({ id: m.id, body: res });
      });
      proc.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`the sender exited with ${String(code ?? signal)} before it was killed`))));
    });
  }

  it("loses no ratchet step across repeated SIGKILLs, and the peer decrypts everything", async () => {
    const peer = await LocalOlmDevice.create(keys, PEER, "ALICEDEVICE");
    for (const count of [3, 7, 1, 12, 2]) await runAndKill(count);
    await runAndKill(1); // one more after the last restart

    const bySession = new Map<string, number[]>();
    for (const { content } of received) {
      const sessionId = String(content.session_id);
      bySession.set(sessionId, [...(bySession.get(sessionId) ?? []), megolmIndex(String(content.ciphertext))]);
    }
    for (const [sessionId, indices] of bySession) {
      for (let i = 1; i < indices.length; i++) {
        assert.ok(indices[i]! > indices[i - 1]!, `session ${sessionId}: message index ${indices[i]} after ${indices[i - 1]} (a ratchet step was lost and reused)`);
      }
    }
    assert.equal(bySession.size, 1, "the outbound session survives restarts (its key was shared once)");

    for (const [i, { n, content }] of received.entries()) {
      const clear = await peer.decrypt({ type: "m.room.encrypted", room_id: ROOM, sender: USER, event_id: `$m${i}`, origin_server_ts: 0, content });
      assert.equal((clear.content as Json).body, `message ${n}`);
    }
    // Messages already on their way when the kill landed count too.
    assert.ok(received.length >= 3 + 7 + 1 + 12 + 2 + 1, `${received.length} messages`);
    peer.close();
  });
});
