// Blocks and reports: the bodies of the gatekeeper's safety endpoints (interop-protocol §7.5, interop-transport §7).
// They travel as the protobuf JSON mapping (proto field names), so both sides parse them with the same descriptors as
// the frames and check the same rules; the binary form exists for the test vectors and any peer that prefers it.
import { create, fromJson, toJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import {
  BlockListSchema,
  ReportReason,
  ReportReceiptSchema,
  ReportSchema,
  type BlockList,
  type Report,
  type ReportReceipt,
} from "./gen/interop_pb.js";
import { checkMaxLength } from "./checks.js";
import { ProtocolError, invalidField } from "./errors.js";
import { MAX_BLOCKS_PER_USER, MAX_REPORT_COMMENT_LENGTH, MAX_REPORT_MESSAGE_IDS, MAX_SAFETY_BODY_BYTES } from "./limits.js";
import { MESSAGE_ID_BYTES, messageIdToString } from "./message-id.js";
import { decodeProto, encodeProto } from "./proto-codec.js";
import { parseUri } from "./uri.js";

export { ReportReason, type BlockList, type Report, type ReportReceipt };

const JSON_WRITE = { useProtoFieldName: true } as const;
/** Unknown fields are a later minor revision's, not an error (§2). */
const JSON_READ = { ignoreUnknownFields: true } as const;

export const MAX_REPORT_RECEIPT_ID_LENGTH = 64;

function checkUriKind(uri: string, kind: "tel" | "matrix", field: string): void {
  let parsed;
  try {
    parsed = parseUri(uri, field);
  } catch (err) {
    throw err instanceof ProtocolError ? err : invalidField(field, "is not a valid URI");
  }
  if (parsed.kind !== kind) throw invalidField(field, `must be a ${kind}: URI`);
}

export function validateBlockList(list: BlockList): BlockList {
  checkUriKind(list.user, "matrix", "user");
  if (list.blocked.length > MAX_BLOCKS_PER_USER) throw invalidField("blocked", `holds ${list.blocked.length} URIs, at most ${MAX_BLOCKS_PER_USER} allowed`);
  list.blocked.forEach((uri, i) => {
    checkUriKind(uri, "tel", `blocked[${i}]`);
    if (i > 0 && !(list.blocked[i - 1]! < uri)) throw invalidField(`blocked[${i}]`, "the list must be sorted and without duplicates");
  });
  return list;
}

export function validateReport(report: Report): Report {
  checkUriKind(report.reporter, "matrix", "reporter");
  checkUriKind(report.reported, "tel", "reported");
  if (report.messageIds.length > MAX_REPORT_MESSAGE_IDS) {
    throw invalidField("message_ids", `holds ${report.messageIds.length} IDs, at most ${MAX_REPORT_MESSAGE_IDS} allowed`);
  }
  const seen = new Set<string>();
  report.messageIds.forEach((id, i) => {
    if (id.length !== MESSAGE_ID_BYTES) throw invalidField(`message_ids[${i}]`, `must be exactly ${MESSAGE_ID_BYTES} bytes, got ${id.length}`);
    const key = messageIdToString(id);
    if (seen.has(key)) throw invalidField(`message_ids[${i}]`, "is listed twice");
    seen.add(key);
  });
  if (report.reason === ReportReason.REPORT_REASON_UNSPECIFIED) throw invalidField("reason", "is required (SPAM, ABUSE, SCAM or OTHER)");
  checkMaxLength(report.comment, MAX_REPORT_COMMENT_LENGTH, "comment");
  return report;
}

export function validateReportReceipt(receipt: ReportReceipt): ReportReceipt {
  if (receipt.id.length === 0) throw invalidField("id", "is required");
  checkMaxLength(receipt.id, MAX_REPORT_RECEIPT_ID_LENGTH, "id");
  return receipt;
}

// ---- binary (vectors) --------------------------------------------------------------------------------------------

export function encodeReport(init: MessageInitShape<typeof ReportSchema>): Uint8Array {
  return encodeProto(ReportSchema, validateReport(create(ReportSchema, init)), MAX_SAFETY_BODY_BYTES, "report");
}

export function decodeReport(bytes: Uint8Array): Report {
  return validateReport(decodeProto(ReportSchema, bytes, MAX_SAFETY_BODY_BYTES, "report"));
}

export function encodeBlockList(init: MessageInitShape<typeof BlockListSchema>): Uint8Array {
  return encodeProto(BlockListSchema, validateBlockList(create(BlockListSchema, init)), MAX_SAFETY_BODY_BYTES, "block list");
}

export function decodeBlockList(bytes: Uint8Array): BlockList {
  return validateBlockList(decodeProto(BlockListSchema, bytes, MAX_SAFETY_BODY_BYTES, "block list"));
}

export function encodeReportReceipt(init: MessageInitShape<typeof ReportReceiptSchema>): Uint8Array {
  return encodeProto(ReportReceiptSchema, validateReportReceipt(create(ReportReceiptSchema, init)), MAX_SAFETY_BODY_BYTES, "report receipt");
}

export function decodeReportReceipt(bytes: Uint8Array): ReportReceipt {
  return validateReportReceipt(decodeProto(ReportReceiptSchema, bytes, MAX_SAFETY_BODY_BYTES, "report receipt"));
}

// ---- JSON (the HTTP bodies) --------------------------------------------------------------------------------------

/** protobuf-es throws plain Errors for JSON that does not fit the schema: they become `malformed`. */
function parseJson<T>(what: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    throw new ProtocolError("malformed", `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export function reportToJson(init: MessageInitShape<typeof ReportSchema>): JsonValue {
  return toJson(ReportSchema, validateReport(create(ReportSchema, init)), JSON_WRITE);
}

/** A reason a later revision added reads as OTHER (in binary it stays the number, which readers treat alike). */
export function reportReasonOf(report: Report): ReportReason {
  return ReportReason[report.reason] === undefined ? ReportReason.OTHER : report.reason;
}

export function reportFromJson(json: unknown): Report {
  const known = (name: unknown) => typeof name !== "string" || name in ReportReason;
  const body = isObject(json) && !known(json.reason) ? { ...json, reason: "OTHER" } : json;
  return validateReport(parseJson("report", () => fromJson(ReportSchema, body as JsonValue, JSON_READ)));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function blockListToJson(init: MessageInitShape<typeof BlockListSchema>): JsonValue {
  return toJson(BlockListSchema, validateBlockList(create(BlockListSchema, init)), JSON_WRITE);
}

export function blockListFromJson(json: unknown): BlockList {
  return validateBlockList(parseJson("block list", () => fromJson(BlockListSchema, json as JsonValue, JSON_READ)));
}

export function reportReceiptToJson(init: MessageInitShape<typeof ReportReceiptSchema>): JsonValue {
  return toJson(ReportReceiptSchema, validateReportReceipt(create(ReportReceiptSchema, init)), JSON_WRITE);
}

export function reportReceiptFromJson(json: unknown): ReportReceipt {
  return validateReportReceipt(parseJson("report receipt", () => fromJson(ReportReceiptSchema, json as JsonValue, JSON_READ)));
}
