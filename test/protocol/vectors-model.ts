// The machine-readable test vectors of docs/interop-protocol.md (test/protocol/vectors.json): their shape, where
// they live, and which codec each protobuf type name maps to.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromJson, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { BlockListSchema, ClientFrameSchema, EnvelopeSchema, ReportReceiptSchema, ReportSchema, ServerFrameSchema } from "../../src/protocol/gen/interop_pb.js";
import { decodeBlockList, decodeReport, decodeReportReceipt, encodeBlockList, encodeReport, encodeReportReceipt } from "../../src/protocol/safety.js";
import { ContentSchema } from "../../src/protocol/gen/content_pb.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/protocol/envelope.js";
import { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame } from "../../src/protocol/frames.js";
import type { MediaKind } from "../../src/protocol/media-crypto.js";
import type { ProtocolErrorCode } from "../../src/protocol/errors.js";

/** This file sits at <root>/test/protocol/ in the source tree and <root>/dist/test/protocol/ once compiled. */
const here = fileURLToPath(new URL(".", import.meta.url));
export const repoRoot = here.includes("/dist/test/") ? new URL("../../../", import.meta.url) : new URL("../../", import.meta.url);
export const vectorsPath = fileURLToPath(new URL("test/protocol/vectors.json", repoRoot));
export const specPath = fileURLToPath(new URL("docs/interop-protocol.md", repoRoot));

export interface ProtobufVector {
  name: string;
  description: string;
  /** Full protobuf type name, e.g. dma.interop.v1.Envelope. */
  type: string;
  /** Canonical protobuf JSON (proto field names). */
  json: JsonValue;
  hex: string;
}

export interface ContentVector {
  name: string;
  description: string;
  json: JsonValue;
  padding: number;
  /** Padded plaintext: the bytes that go into Signal encryption. */
  hex: string;
}

export interface PaddingVector {
  input: string;
  n: number;
  output: string;
}

export type RejectDecoder = "envelope" | "client_frame" | "server_frame" | "content" | "report" | "block_list";

export interface RejectVector {
  name: string;
  description: string;
  decoder: RejectDecoder;
  hex: string;
  code: ProtocolErrorCode;
}

export interface MessageIdVector {
  bytes: string;
  string: string;
}

export type UriVector = { userId: string; uri: string } | { e164: string; uri: string; international: string };

export interface PhoneVector {
  input: string;
  defaultCountry?: string;
  e164: string;
}

export interface MediaKeyVector {
  kind: MediaKind;
  mediaKey: string;
  iv: string;
  cipherKey: string;
  macKey: string;
  refKey: string;
}

export interface MediaVector {
  kind: MediaKind;
  mediaKey: string;
  /** Hex of the plaintext file. */
  plaintext: string;
  upload: string;
  fileSha256: string;
  fileEncSha256: string;
  fileLength: number;
}

export interface Vectors {
  comment: string;
  protocolVersion: number;
  protobuf: ProtobufVector[];
  content: ContentVector[];
  padding: PaddingVector[];
  rejects: RejectVector[];
  messageIds: MessageIdVector[];
  uris: UriVector[];
  phoneNumbers: PhoneVector[];
  mediaKeys: MediaKeyVector[];
  media: MediaVector[];
}

export function loadVectors(): Vectors {
  return JSON.parse(readFileSync(vectorsPath, "utf8")) as Vectors;
}

export interface ProtobufCodec {
  schema: DescMessage;
  encode(json: JsonValue): Uint8Array;
  decode(bytes: Uint8Array): JsonValue;
}

export const jsonOptions = { useProtoFieldName: true } as const;

/** The project's codec for each top-level protobuf type: validates in both directions. */
export const codecs: Record<string, ProtobufCodec> = {
  "dma.interop.v1.Envelope": {
    schema: EnvelopeSchema,
    encode: (json) => encodeEnvelope(fromJson(EnvelopeSchema, json)),
    decode: (bytes) => toJson(EnvelopeSchema, decodeEnvelope(bytes), jsonOptions),
  },
  "dma.interop.v1.ClientFrame": {
    schema: ClientFrameSchema,
    encode: (json) => encodeClientFrame(fromJson(ClientFrameSchema, json)),
    decode: (bytes) => toJson(ClientFrameSchema, decodeClientFrame(bytes), jsonOptions),
  },
  "dma.interop.v1.ServerFrame": {
    schema: ServerFrameSchema,
    encode: (json) => encodeServerFrame(fromJson(ServerFrameSchema, json)),
    decode: (bytes) => toJson(ServerFrameSchema, decodeServerFrame(bytes), jsonOptions),
  },
  "dma.interop.v1.BlockList": {
    schema: BlockListSchema,
    encode: (json) => encodeBlockList(fromJson(BlockListSchema, json)),
    decode: (bytes) => toJson(BlockListSchema, decodeBlockList(bytes), jsonOptions),
  },
  "dma.interop.v1.Report": {
    schema: ReportSchema,
    encode: (json) => encodeReport(fromJson(ReportSchema, json)),
    decode: (bytes) => toJson(ReportSchema, decodeReport(bytes), jsonOptions),
  },
  "dma.interop.v1.ReportReceipt": {
    schema: ReportReceiptSchema,
    encode: (json) => encodeReportReceipt(fromJson(ReportReceiptSchema, json)),
    decode: (bytes) => toJson(ReportReceiptSchema, decodeReportReceipt(bytes), jsonOptions),
  },
};

export { ContentSchema };

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}
