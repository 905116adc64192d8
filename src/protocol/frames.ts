// Frames on the provider WebSocket: one binary WebSocket message holds exactly one ClientFrame (provider ->
// gatekeeper) or ServerFrame (gatekeeper -> provider). A frame whose `kind` is unset or unknown to us is malformed:
// new frame kinds come with a new protocol version, negotiated by the transport.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ErrorCode,
  ServerFrameSchema,
  type Ack,
  type ClientFrame,
  type DevicesChanged,
  type Envelope,
  type Send,
  type SendResult,
  type ServerFrame,
} from "./gen/interop_pb.js";
import { checkDeviceId, checkDeviceList, checkMaxLength } from "./checks.js";
import { ProtocolError, invalidField } from "./errors.js";
import { validateEnvelope } from "./envelope.js";
import { MAX_DETAIL_LENGTH, MAX_ENVELOPES_PER_SEND, MAX_FRAME_BYTES } from "./limits.js";
import { MESSAGE_ID_BYTES } from "./message-id.js";
import { decodeProto, encodeProto } from "./proto-codec.js";
import { checkUri } from "./uri.js";

export { ErrorCode, type ClientFrame, type ServerFrame };

export type ClientFrameInit = MessageInitShape<typeof ClientFrameSchema>;
export type ServerFrameInit = MessageInitShape<typeof ServerFrameSchema>;
export type ClientFrameKind = NonNullable<ClientFrame["kind"]["case"]>;
export type ServerFrameKind = NonNullable<ServerFrame["kind"]["case"]>;

export function encodeClientFrame(init: ClientFrameInit): Uint8Array {
  const frame = validateClientFrame(create(ClientFrameSchema, init));
  return encodeProto(ClientFrameSchema, frame, MAX_FRAME_BYTES, "client frame");
}

export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  return validateClientFrame(decodeProto(ClientFrameSchema, bytes, MAX_FRAME_BYTES, "client frame"));
}

export function encodeServerFrame(init: ServerFrameInit): Uint8Array {
  const frame = validateServerFrame(create(ServerFrameSchema, init));
  return encodeProto(ServerFrameSchema, frame, MAX_FRAME_BYTES, "server frame");
}

export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  return validateServerFrame(decodeProto(ServerFrameSchema, bytes, MAX_FRAME_BYTES, "server frame"));
}

export function validateClientFrame(frame: ClientFrame): ClientFrame {
  const kind = frame.kind;
  switch (kind.case) {
    case "send":
      validateSend(kind.value, "send");
      break;
    case "ack":
      validateAck(kind.value, "ack");
      break;
    case "ping":
      break;
    default:
      throw noKind("client frame");
  }
  return frame;
}

export function validateServerFrame(frame: ServerFrame): ServerFrame {
  const kind = frame.kind;
  switch (kind.case) {
    case "sendResult":
      validateSendResult(kind.value, "send_result");
      break;
    case "deliver":
      if (kind.value.envelope === undefined) throw invalidField("deliver.envelope", "is required");
      validateEnvelope(kind.value.envelope, "deliver.envelope");
      break;
    case "pong":
      break;
    case "error":
      if (kind.value.code === ErrorCode.ERROR_CODE_UNSPECIFIED) throw invalidField("error.code", "must be set");
      checkMaxLength(kind.value.detail, MAX_DETAIL_LENGTH, "error.detail");
      break;
    case "prekeysLow":
      checkUri(kind.value.user, "prekeys_low.user");
      break;
    case "devicesChanged":
      validateDevicesChanged(kind.value, "devices_changed");
      break;
    default:
      throw noKind("server frame");
  }
  return frame;
}

function noKind(what: string): ProtocolError {
  return new ProtocolError("malformed", `${what}: no known frame kind is set`, { field: "kind" });
}

/** All envelopes of a Send are copies of one message to one user: same id and parties, one per device. */
function validateSend(send: Send, path: string): void {
  const envelopes = send.envelopes;
  if (envelopes.length === 0) throw invalidField(`${path}.envelopes`, "must hold at least one envelope");
  if (envelopes.length > MAX_ENVELOPES_PER_SEND) {
    throw invalidField(`${path}.envelopes`, `holds ${envelopes.length} envelopes, at most ${MAX_ENVELOPES_PER_SEND} allowed`);
  }
  const first = envelopes[0]!;
  const devices = new Set<number>();
  envelopes.forEach((envelope: Envelope, i: number) => {
    const at = `${path}.envelopes[${i}]`;
    validateEnvelope(envelope, at);
    if (i > 0) {
      if (!sameBytes(envelope.id, first.id)) throw invalidField(`${at}.id`, "differs from envelopes[0].id");
      if (envelope.sender !== first.sender) throw invalidField(`${at}.sender`, "differs from envelopes[0].sender");
      if (envelope.senderDevice !== first.senderDevice) {
        throw invalidField(`${at}.sender_device`, "differs from envelopes[0].sender_device");
      }
      if (envelope.recipient !== first.recipient) throw invalidField(`${at}.recipient`, "differs from envelopes[0].recipient");
    }
    if (devices.has(envelope.recipientDevice)) {
      throw invalidField(`${at}.recipient_device`, `device ${envelope.recipientDevice} appears twice`);
    }
    devices.add(envelope.recipientDevice);
  });
}

function validateAck(ack: Ack, path: string): void {
  if (ack.id.length !== MESSAGE_ID_BYTES) {
    throw invalidField(`${path}.id`, `a message ID is exactly ${MESSAGE_ID_BYTES} bytes, got ${ack.id.length}`);
  }
  checkUri(ack.recipient, `${path}.recipient`);
  checkDeviceId(ack.recipientDevice, `${path}.recipient_device`);
}

function validateSendResult(result: SendResult, path: string): void {
  if (result.ok && result.code !== ErrorCode.ERROR_CODE_UNSPECIFIED) {
    throw invalidField(`${path}.code`, "must be unset when ok is true");
  }
  // Codes unknown to this version are accepted: a receiver treats them like INTERNAL (failed, may retry later).
  if (!result.ok && result.code === ErrorCode.ERROR_CODE_UNSPECIFIED) {
    throw invalidField(`${path}.code`, "must say why when ok is false");
  }
  checkMaxLength(result.detail, MAX_DETAIL_LENGTH, `${path}.detail`);
  checkDeviceList(result.currentDevices, `${path}.current_devices`);
  checkDeviceList(result.staleDevices, `${path}.stale_devices`);
}

function validateDevicesChanged(changed: DevicesChanged, path: string): void {
  checkUri(changed.user, `${path}.user`);
  checkDeviceList(changed.devices, `${path}.devices`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
