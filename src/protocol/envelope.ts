// The envelope: routing metadata plus one Signal ciphertext for one recipient device. The gatekeeper reads only the
// envelope; everything the users said is inside `ciphertext`.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { EnvelopeSchema, EnvelopeType, type Envelope } from "./gen/interop_pb.js";
import { checkDeviceId } from "./checks.js";
import { ProtocolError, invalidField } from "./errors.js";
import {
  MAX_CIPHERTEXT_BYTES,
  MAX_REGISTRATION_ID,
  MAX_TIMESTAMP_MS,
  MIN_TIMESTAMP_MS,
  PROTOCOL_VERSION,
} from "./limits.js";
import { MESSAGE_ID_BYTES } from "./message-id.js";
import { decodeProto, encodeProto } from "./proto-codec.js";
import { checkUri } from "./uri.js";

export { EnvelopeType, type Envelope };

/** Everything but `version` is required; `version` defaults to the one this implementation speaks. */
export type EnvelopeInit = MessageInitShape<typeof EnvelopeSchema>;

/** Varint and length prefixes of an envelope's fields besides the ciphertext stay far below this. */
const MAX_ENVELOPE_OVERHEAD = 2048;
export const MAX_ENVELOPE_BYTES = MAX_CIPHERTEXT_BYTES + MAX_ENVELOPE_OVERHEAD;

/** Builds and validates an envelope, e.g. to put into a Send frame. */
export function makeEnvelope(init: EnvelopeInit): Envelope {
  const envelope = create(EnvelopeSchema, init);
  if (init.version === undefined) envelope.version = PROTOCOL_VERSION;
  return validateEnvelope(envelope);
}

export function encodeEnvelope(init: EnvelopeInit): Uint8Array {
  return encodeProto(EnvelopeSchema, makeEnvelope(init), MAX_ENVELOPE_BYTES, "envelope");
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return validateEnvelope(decodeProto(EnvelopeSchema, bytes, MAX_ENVELOPE_BYTES, "envelope"));
}

/**
 * Checks an already-decoded envelope (frames carry envelopes) and returns it. `path` prefixes field names in errors.
 * The version is checked first: a later version may change what the other fields mean.
 */
export function validateEnvelope(envelope: Envelope, path = "envelope"): Envelope {
  if (envelope.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      "unsupported_version",
      `${path}.version: this implementation speaks version ${PROTOCOL_VERSION}, got ${envelope.version}`,
      { field: `${path}.version` },
    );
  }
  if (envelope.id.length !== MESSAGE_ID_BYTES) {
    throw invalidField(`${path}.id`, `a message ID is exactly ${MESSAGE_ID_BYTES} bytes, got ${envelope.id.length}`);
  }
  if (envelope.timestampMs < MIN_TIMESTAMP_MS || envelope.timestampMs > MAX_TIMESTAMP_MS) {
    throw invalidField(
      `${path}.timestamp_ms`,
      `must be between ${MIN_TIMESTAMP_MS} (2020) and ${MAX_TIMESTAMP_MS} (2100), got ${envelope.timestampMs}`,
    );
  }
  checkUri(envelope.sender, `${path}.sender`);
  checkDeviceId(envelope.senderDevice, `${path}.sender_device`);
  checkUri(envelope.recipient, `${path}.recipient`);
  checkDeviceId(envelope.recipientDevice, `${path}.recipient_device`);
  if (envelope.type !== EnvelopeType.PREKEY_MESSAGE && envelope.type !== EnvelopeType.MESSAGE) {
    throw invalidField(`${path}.type`, `must be PREKEY_MESSAGE (1) or MESSAGE (2), got ${envelope.type}`);
  }
  if (envelope.ciphertext.length === 0) throw invalidField(`${path}.ciphertext`, "must not be empty");
  if (envelope.ciphertext.length > MAX_CIPHERTEXT_BYTES) {
    throw new ProtocolError(
      "oversized",
      `${path}.ciphertext: ${envelope.ciphertext.length} bytes exceed the limit of ${MAX_CIPHERTEXT_BYTES}`,
      { field: `${path}.ciphertext` },
    );
  }
  if (envelope.recipientRegistrationId > MAX_REGISTRATION_ID) {
    throw invalidField(
      `${path}.recipient_registration_id`,
      `a registration ID is at most ${MAX_REGISTRATION_ID} (0 = unknown), got ${envelope.recipientRegistrationId}`,
    );
  }
  return envelope;
}

/** The key receivers deduplicate by: one logical message to one device. */
export function envelopeKey(envelope: Pick<Envelope, "id" | "recipient" | "recipientDevice">): string {
  return `${Buffer.from(envelope.id).toString("hex").toUpperCase()}/${envelope.recipient}/${envelope.recipientDevice}`;
}
