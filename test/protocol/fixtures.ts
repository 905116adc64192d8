// Sample protocol data for the tests; valid unless a test changes it.
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { EnvelopeSchema, EnvelopeType, type Envelope } from "../../src/protocol/gen/interop_pb.js";

type EnvelopeFields = Partial<Omit<Envelope, "$typeName" | "$unknown">>;
import { messageIdToString } from "../../src/protocol/message-id.js";

export const ALICE = "matrix:u/alice:example.org";
export const BOB = "tel:+4915112345678";
export const T0 = 1_767_225_600_000n;

export const fixedId = (start = 0): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (start + i) & 0xff);
export const ID_STRING = messageIdToString(fixedId());

export function envelopeInit(overrides: EnvelopeFields = {}) {
  return {
    version: 1,
    id: fixedId(),
    timestampMs: T0,
    sender: ALICE,
    senderDevice: 1,
    recipient: BOB,
    recipientDevice: 2,
    type: EnvelopeType.PREKEY_MESSAGE,
    ciphertext: Uint8Array.from([1, 2, 3, 4]),
    recipientRegistrationId: 1234,
    ...overrides,
  } satisfies MessageInitShape<typeof EnvelopeSchema>;
}

/** Envelope bytes built without our validation, to feed decoders what a broken peer might send. */
export function rawEnvelope(overrides: EnvelopeFields = {}): Uint8Array {
  return toBinary(EnvelopeSchema, create(EnvelopeSchema, envelopeInit(overrides)));
}
