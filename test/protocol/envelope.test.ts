import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { decodeEnvelope, encodeEnvelope, envelopeKey, makeEnvelope, validateEnvelope } from "../../src/protocol/envelope.js";
import { EnvelopeSchema, EnvelopeType } from "../../src/protocol/gen/interop_pb.js";
import { ProtocolError, type ProtocolErrorCode } from "../../src/protocol/errors.js";
import { MAX_CIPHERTEXT_BYTES } from "../../src/protocol/limits.js";
import { ALICE, BOB, envelopeInit, fixedId, rawEnvelope, T0 } from "./fixtures.js";

function rejects(fn: () => unknown, code: ProtocolErrorCode, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `expected ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

describe("envelope codec", () => {
  it("round-trips every field", () => {
    const init = envelopeInit({ type: EnvelopeType.MESSAGE, recipientRegistrationId: 16380 });
    const decoded = decodeEnvelope(encodeEnvelope(init));
    assert.equal(decoded.version, 1);
    assert.deepEqual(decoded.id, init.id);
    assert.equal(decoded.timestampMs, T0);
    assert.equal(decoded.sender, ALICE);
    assert.equal(decoded.senderDevice, 1);
    assert.equal(decoded.recipient, BOB);
    assert.equal(decoded.recipientDevice, 2);
    assert.equal(decoded.type, EnvelopeType.MESSAGE);
    assert.deepEqual(decoded.ciphertext, init.ciphertext);
    assert.equal(decoded.recipientRegistrationId, 16380);
  });

  it("fills in version 1 when the caller leaves it out", () => {
    const { version: _v, ...rest } = envelopeInit();
    assert.equal(decodeEnvelope(encodeEnvelope(rest)).version, 1);
    assert.equal(makeEnvelope(rest).version, 1);
  });

  it("rejects other versions before looking at anything else", () => {
    rejects(() => decodeEnvelope(rawEnvelope({ version: 2 })), "unsupported_version", "envelope.version");
    rejects(() => decodeEnvelope(rawEnvelope({ version: 0 })), "unsupported_version");
    rejects(() => decodeEnvelope(rawEnvelope({ version: 2, id: new Uint8Array(3) })), "unsupported_version");
    rejects(() => encodeEnvelope(envelopeInit({ version: 2 })), "unsupported_version");
  });

  it("rejects IDs that are not 16 bytes", () => {
    for (const len of [0, 1, 15, 17, 32]) {
      rejects(() => decodeEnvelope(rawEnvelope({ id: new Uint8Array(len) })), "invalid_field", "envelope.id");
    }
  });

  it("rejects bad sender and recipient URIs", () => {
    rejects(() => decodeEnvelope(rawEnvelope({ sender: "" })), "invalid_field", "envelope.sender");
    rejects(() => decodeEnvelope(rawEnvelope({ sender: "@alice:example.org" })), "invalid_field", "envelope.sender");
    rejects(() => decodeEnvelope(rawEnvelope({ recipient: "tel:015112345678" })), "invalid_field", "envelope.recipient");
    rejects(() => decodeEnvelope(rawEnvelope({ recipient: "tel:+49 151" })), "invalid_field", "envelope.recipient");
  });

  it("rejects device IDs outside libsignal's 1..127", () => {
    for (const d of [0, 128, 65535]) {
      rejects(() => decodeEnvelope(rawEnvelope({ senderDevice: d })), "invalid_field", "envelope.sender_device");
      rejects(() => decodeEnvelope(rawEnvelope({ recipientDevice: d })), "invalid_field", "envelope.recipient_device");
    }
    assert.equal(decodeEnvelope(rawEnvelope({ recipientDevice: 127 })).recipientDevice, 127);
  });

  it("rejects unspecified or unknown types", () => {
    rejects(() => decodeEnvelope(rawEnvelope({ type: EnvelopeType.ENVELOPE_TYPE_UNSPECIFIED })), "invalid_field", "envelope.type");
    rejects(() => decodeEnvelope(rawEnvelope({ type: 9 as EnvelopeType })), "invalid_field", "envelope.type");
  });

  it("rejects empty and oversized ciphertexts", () => {
    rejects(() => decodeEnvelope(rawEnvelope({ ciphertext: new Uint8Array(0) })), "invalid_field", "envelope.ciphertext");
    rejects(() => decodeEnvelope(rawEnvelope({ ciphertext: new Uint8Array(MAX_CIPHERTEXT_BYTES + 1) })), "oversized");
    assert.equal(decodeEnvelope(rawEnvelope({ ciphertext: new Uint8Array(MAX_CIPHERTEXT_BYTES) })).ciphertext.length, MAX_CIPHERTEXT_BYTES);
  });

  it("rejects input larger than any valid envelope before parsing it", () => {
    rejects(() => decodeEnvelope(new Uint8Array(MAX_CIPHERTEXT_BYTES + 4096)), "oversized");
  });

  it("rejects timestamps outside 2020..2100", () => {
    for (const t of [0n, 1_000n, 1_577_836_799_999n, 4_102_444_800_001n, 2n ** 63n]) {
      rejects(() => decodeEnvelope(rawEnvelope({ timestampMs: t })), "invalid_field", "envelope.timestamp_ms");
    }
  });

  it("rejects registration IDs above 14 bits and accepts 0 (unknown)", () => {
    rejects(() => decodeEnvelope(rawEnvelope({ recipientRegistrationId: 0x4000 })), "invalid_field", "envelope.recipient_registration_id");
    assert.equal(decodeEnvelope(rawEnvelope({ recipientRegistrationId: 0 })).recipientRegistrationId, 0);
  });

  it("reports truncated input as truncated", () => {
    const bytes = encodeEnvelope(envelopeInit({ ciphertext: new Uint8Array(100).fill(7), recipientRegistrationId: 0 }));
    // The ciphertext is the last field: every cut inside it leaves a length prefix that points past the end.
    for (let cut = bytes.length - 100; cut < bytes.length; cut++) rejects(() => decodeEnvelope(bytes.subarray(0, cut)), "truncated");
  });

  it("reports garbage as malformed", () => {
    rejects(() => decodeEnvelope(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), "malformed");
    rejects(() => decodeEnvelope(Uint8Array.from([0x0f])), "malformed"); // wire type 7 does not exist
    rejects(() => decodeEnvelope("not bytes" as unknown as Uint8Array), "malformed");
  });

  it("rejects a sender URI that is not UTF-8", () => {
    const bytes = rawEnvelope({ sender: "matrix:u/alice:example.org" });
    const at = Buffer.from(bytes).indexOf("alice");
    const broken = Uint8Array.from(bytes);
    broken[at] = 0xc3; // starts a two-byte sequence that the next byte does not continue
    broken[at + 1] = 0x28;
    rejects(() => decodeEnvelope(broken), "malformed");
  });

  it("keeps unknown fields and writes them back (forward compatibility)", () => {
    const withExtra = Buffer.concat([rawEnvelope(), Buffer.from([0xa0, 0x06, 0x2a])]); // field 100, varint 42
    const decoded = decodeEnvelope(withExtra);
    assert.equal(decoded.$unknown?.length, 1);
    assert.deepEqual(Buffer.from(toBinary(EnvelopeSchema, decoded)), withExtra);
  });

  it("validates envelopes built elsewhere and names the path", () => {
    const env = create(EnvelopeSchema, envelopeInit({ recipientDevice: 0 }));
    rejects(() => validateEnvelope(env, "send.envelopes[3]"), "invalid_field", "send.envelopes[3].recipient_device");
  });

  it("derives the deduplication key from id, recipient and device", () => {
    assert.equal(envelopeKey(makeEnvelope(envelopeInit({ id: fixedId(0xf0) }))), `F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF/${BOB}/2`);
  });
});
