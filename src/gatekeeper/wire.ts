// Frame and envelope codecs as the gatekeeper uses them (src/protocol validates everything on the way in and out),
// plus the one thing the shared codec does not do: recover the seq of a Send that failed validation, so the
// provider gets a SendResult it can match instead of a bare Error.
import { fromBinary } from "@bufbuild/protobuf";
import { ClientFrameSchema } from "../protocol/gen/interop_pb.js";

export { decodeClientFrame, encodeServerFrame, type ServerFrameInit } from "../protocol/frames.js";
export { decodeEnvelope, encodeEnvelope } from "../protocol/envelope.js";

/** The seq of a frame that parses as protobuf and is a Send, however invalid its envelopes; undefined otherwise. */
export function seqOfInvalidSend(bytes: Uint8Array): bigint | undefined {
  try {
    const frame = fromBinary(ClientFrameSchema, bytes);
    return frame.kind.case === "send" ? frame.kind.value.seq : undefined;
  } catch {
    return undefined;
  }
}
