import assert from "node:assert/strict";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  ErrorCode,
} from "../../src/protocol/frames.js";
import { ClientFrameSchema, EnvelopeType, ServerFrameSchema } from "../../src/protocol/gen/interop_pb.js";
import { ProtocolError, type ProtocolErrorCode } from "../../src/protocol/errors.js";
import { MAX_FRAME_BYTES } from "../../src/protocol/limits.js";
import { ALICE, BOB, envelopeInit, fixedId } from "./fixtures.js";

function rejects(fn: () => unknown, code: ProtocolErrorCode, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

const rawClient = (init: MessageInitShape<typeof ClientFrameSchema>) => toBinary(ClientFrameSchema, create(ClientFrameSchema, init));
const rawServer = (init: MessageInitShape<typeof ServerFrameSchema>) => toBinary(ServerFrameSchema, create(ServerFrameSchema, init));
const send = (envelopes: ReturnType<typeof envelopeInit>[]) => ({ kind: { case: "send" as const, value: { seq: 1n, envelopes } } });

describe("client frames", () => {
  it("round-trip send, ack and ping", () => {
    const s = decodeClientFrame(
      encodeClientFrame(send([envelopeInit(), envelopeInit({ recipientDevice: 3, type: EnvelopeType.MESSAGE })])),
    );
    assert.equal(s.kind.case, "send");
    assert.equal(s.kind.value?.envelopes.length, 2);
    assert.equal(s.kind.value?.envelopes[1]?.recipientDevice, 3);

    const a = decodeClientFrame(encodeClientFrame({ kind: { case: "ack", value: { id: fixedId(), recipient: ALICE, recipientDevice: 1 } } }));
    assert.equal(a.kind.case, "ack");
    assert.equal(a.kind.value?.recipient, ALICE);

    const p = decodeClientFrame(encodeClientFrame({ kind: { case: "ping", value: { nonce: 2n ** 64n - 1n } } }));
    assert.equal(p.kind.case === "ping" && p.kind.value.nonce, 2n ** 64n - 1n);
  });

  it("reject a frame without a kind, including one whose kind this version does not know", () => {
    rejects(() => decodeClientFrame(new Uint8Array(0)), "malformed", "kind");
    rejects(() => decodeClientFrame(Uint8Array.from([0x22, 0x00])), "malformed", "kind"); // field 4
    rejects(() => encodeClientFrame({}), "malformed");
  });

  it("reject a send without envelopes", () => {
    rejects(() => decodeClientFrame(rawClient(send([]))), "invalid_field", "send.envelopes");
  });

  it("validate every envelope of a send and name it", () => {
    rejects(
      () => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit({ recipientDevice: 3, version: 2 })]))),
      "unsupported_version",
      "send.envelopes[1].version",
    );
    rejects(
      () => decodeClientFrame(rawClient(send([envelopeInit({ id: new Uint8Array(8) })]))),
      "invalid_field",
      "send.envelopes[0].id",
    );
  });

  it("reject a send whose envelopes are not copies of one message to one user", () => {
    rejects(() => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit({ recipientDevice: 3, id: fixedId(1) })]))), "invalid_field", "send.envelopes[1].id");
    rejects(() => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit({ recipientDevice: 3, recipient: "tel:+4915199999999" })]))), "invalid_field", "send.envelopes[1].recipient");
    rejects(() => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit({ recipientDevice: 3, sender: "matrix:u/bob:example.org" })]))), "invalid_field", "send.envelopes[1].sender");
    rejects(() => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit({ recipientDevice: 3, senderDevice: 2 })]))), "invalid_field", "send.envelopes[1].sender_device");
    rejects(() => decodeClientFrame(rawClient(send([envelopeInit(), envelopeInit()]))), "invalid_field", "send.envelopes[1].recipient_device");
  });

  it("reject a send with more envelopes than devices exist", () => {
    const many = Array.from({ length: 128 }, (_, i) => envelopeInit({ recipientDevice: (i % 127) + 1 }));
    rejects(() => decodeClientFrame(rawClient(send(many))), "invalid_field", "send.envelopes");
  });

  it("reject bad acks", () => {
    rejects(() => decodeClientFrame(rawClient({ kind: { case: "ack", value: { id: new Uint8Array(15), recipient: ALICE, recipientDevice: 1 } } })), "invalid_field", "ack.id");
    rejects(() => decodeClientFrame(rawClient({ kind: { case: "ack", value: { id: fixedId(), recipient: "alice", recipientDevice: 1 } } })), "invalid_field", "ack.recipient");
    rejects(() => decodeClientFrame(rawClient({ kind: { case: "ack", value: { id: fixedId(), recipient: ALICE } } })), "invalid_field", "ack.recipient_device");
  });

  it("reject oversized input before parsing", () => {
    rejects(() => decodeClientFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), "oversized");
  });

  it("report truncated input", () => {
    const bytes = encodeClientFrame(send([envelopeInit({ ciphertext: new Uint8Array(64).fill(1) })]));
    rejects(() => decodeClientFrame(bytes.subarray(0, bytes.length - 10)), "truncated");
  });
});

describe("server frames", () => {
  it("round-trip every kind", () => {
    const frames: MessageInitShape<typeof ServerFrameSchema>[] = [
      { kind: { case: "sendResult", value: { seq: 9n, ok: true } } },
      { kind: { case: "sendResult", value: { seq: 9n, ok: false, code: ErrorCode.STALE_DEVICES, currentDevices: [1, 2], staleDevices: [2] } } },
      { kind: { case: "deliver", value: { envelope: envelopeInit({ sender: BOB, recipient: ALICE }) } } },
      { kind: { case: "pong", value: { nonce: 5n } } },
      { kind: { case: "error", value: { code: ErrorCode.INVALID, detail: "bad frame", seq: 3n } } },
      { kind: { case: "prekeysLow", value: { user: ALICE, remaining: 3 } } },
      { kind: { case: "devicesChanged", value: { user: BOB, devices: [1, 5] } } },
      { kind: { case: "devicesChanged", value: { user: BOB, devices: [] } } },
    ];
    for (const init of frames) {
      const decoded = decodeServerFrame(encodeServerFrame(init));
      assert.deepEqual(toBinary(ServerFrameSchema, decoded), toBinary(ServerFrameSchema, create(ServerFrameSchema, init)));
      assert.equal(decoded.kind.case, init.kind?.case);
    }
  });

  it("accept result codes from later versions (treated as a failure by the receiver)", () => {
    const f = decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { seq: 1n, ok: false, code: 99 as ErrorCode } } }));
    assert.equal(f.kind.case === "sendResult" && f.kind.value.code, 99);
  });

  it("reject inconsistent send results", () => {
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { ok: true, code: ErrorCode.BLOCKED } } })), "invalid_field", "send_result.code");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { ok: false } } })), "invalid_field", "send_result.code");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { ok: false, code: ErrorCode.STALE_DEVICES, currentDevices: [1, 1] } } })), "invalid_field", "send_result.current_devices[1]");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { ok: false, code: ErrorCode.STALE_DEVICES, staleDevices: [0] } } })), "invalid_field", "send_result.stale_devices[0]");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "sendResult", value: { ok: false, code: ErrorCode.INTERNAL, detail: "x".repeat(5000) } } })), "invalid_field", "send_result.detail");
  });

  it("reject a deliver without a valid envelope", () => {
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "deliver", value: {} } })), "invalid_field", "deliver.envelope");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "deliver", value: { envelope: envelopeInit({ version: 3 }) } } })), "unsupported_version", "deliver.envelope.version");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "deliver", value: { envelope: envelopeInit({ ciphertext: new Uint8Array(0) }) } } })), "invalid_field", "deliver.envelope.ciphertext");
  });

  it("reject error frames without a code, and bad user URIs or device lists", () => {
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "error", value: { detail: "?" } } })), "invalid_field", "error.code");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "prekeysLow", value: { user: "", remaining: 1 } } })), "invalid_field", "prekeys_low.user");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "devicesChanged", value: { user: BOB, devices: [1, 200] } } })), "invalid_field", "devices_changed.devices[1]");
    rejects(() => decodeServerFrame(rawServer({ kind: { case: "devicesChanged", value: { user: "tel:123", devices: [1] } } })), "invalid_field", "devices_changed.user");
  });

  it("reject frames without a kind", () => {
    rejects(() => decodeServerFrame(new Uint8Array(0)), "malformed", "kind");
    rejects(() => decodeServerFrame(Uint8Array.from([0x7a, 0x00])), "malformed", "kind");
  });

  it("refuse to encode what a peer would reject", () => {
    rejects(() => encodeServerFrame({ kind: { case: "sendResult", value: { ok: false } } }), "invalid_field");
    rejects(() => encodeClientFrame({ kind: { case: "ack", value: { id: new Uint8Array(3), recipient: ALICE, recipientDevice: 1 } } }), "invalid_field");
  });
});
