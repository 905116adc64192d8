// Interop message IDs: 16 random bytes on the wire (Envelope.id, Ack.id); inside Content they travel as a string of
// 32 uppercase hex digits (MessageKey.id, Receipt.message_ids, ContextInfo.stanza_id), as WhatsApp's IDs are strings.
// One canonical spelling (uppercase, no separators) lets the string be used as a lookup key without normalising.
import { ProtocolError, invalidField } from "./errors.js";

export const MESSAGE_ID_BYTES = 16;
const MESSAGE_ID_PATTERN = /^[0-9A-F]{32}$/;

export function newMessageId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(MESSAGE_ID_BYTES));
}

export function checkMessageIdBytes(id: Uint8Array, field = "id"): void {
  if (!(id instanceof Uint8Array) || id.length !== MESSAGE_ID_BYTES) {
    const got = id instanceof Uint8Array ? `${id.length} bytes` : typeof id;
    throw invalidField(field, `a message ID is exactly ${MESSAGE_ID_BYTES} bytes, got ${got}`);
  }
}

export function messageIdToString(id: Uint8Array): string {
  checkMessageIdBytes(id);
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex").toUpperCase();
}

export function isMessageIdString(s: unknown): s is string {
  return typeof s === "string" && MESSAGE_ID_PATTERN.test(s);
}

export function checkMessageIdString(s: string, field = "id"): void {
  if (!isMessageIdString(s)) {
    throw new ProtocolError(
      "invalid_field",
      `${field}: a message ID string is 32 uppercase hex digits, got ${describe(s)}`,
      { field },
    );
  }
}

export function messageIdFromString(s: string): Uint8Array {
  checkMessageIdString(s);
  return new Uint8Array(Buffer.from(s, "hex"));
}

function describe(s: unknown): string {
  if (typeof s !== "string") return typeof s;
  return s.length > 40 ? `${s.length} characters` : JSON.stringify(s);
}

/**
 * A reference to an earlier message (MessageKey.id, ContextInfo.stanza_id, Receipt.message_ids) may carry another
 * network's own ID form, e.g. WhatsApp's "3EB0…" (22 characters) or "3A…": a gatekeeper passes them through, and a
 * receiver that cannot match one simply finds no message. Only the characters such IDs use, so the string is still
 * safe as a lookup key and in logs.
 */
const MESSAGE_REF_PATTERN = /^[0-9A-Za-z._:-]{1,128}$/;

export function isMessageRefString(s: unknown): s is string {
  return typeof s === "string" && MESSAGE_REF_PATTERN.test(s);
}

export function checkMessageRefString(s: string, field = "id"): void {
  if (!isMessageRefString(s)) {
    throw new ProtocolError(
      "invalid_field",
      `${field}: a message reference is a message ID string or another network's ID (1..128 letters, digits, ".", "_", ":", "-"), got ${describe(s)}`,
      { field },
    );
  }
}
