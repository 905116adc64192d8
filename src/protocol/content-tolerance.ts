// Decoding is tolerant of fields that only give context: a real gatekeeper relays what WhatsApp's clients produce
// (JIDs for participants, quotes of messages whose copy no longer validates, IDs that are not ours), and one such
// field must cost that field, not the message. This pass runs between parsing and the strict checks of content.ts:
// it repairs what has an unambiguous meaning (a user JID is a phone number) and removes the rest, saying so for the
// log. What a message cannot do without (its text, a media key, the key a reaction points at) is left alone, so the
// strict checks still reject it.
import type { Content, ContextInfo, Message, MessageKey } from "./gen/content_pb.js";
import { isProtocolError } from "./errors.js";
import { MAX_DISAPPEARING_SECONDS, MAX_MESSAGE_NESTING } from "./limits.js";
import { isMessageRefString } from "./message-id.js";
import { isE164, isValidUri, telUri } from "./uri.js";

/** content.ts's strict check of one message (passed in, so that module and this one do not import each other). */
export type MessageCheck = (message: Message, path: string, depth: number) => void;

/** Repairs or removes unusable context fields in place; returns one sentence per field touched. */
export function tolerate(content: Content, validateMessage: MessageCheck): string[] {
  const notes: string[] = [];
  const walk: Walk = { notes, validateMessage };
  if (content.message) tolerateMessage(content.message, "message", 0, walk);
  if (content.receipt) {
    const ids = content.receipt.messageIds;
    const usable = ids.filter(isMessageRefString);
    // Keep the receipt itself invalid when nothing is left: a receipt for no message is not one.
    if (usable.length < ids.length && usable.length > 0) {
      notes.push(`receipt.message_ids: dropped ${ids.length - usable.length} unusable ID(s)`);
      content.receipt.messageIds = usable;
    }
  }
  return notes;
}

/** Every part of a message that can carry a ContextInfo or a nested message, whatever its kind. */
interface Walk {
  notes: string[];
  validateMessage: MessageCheck;
}

function tolerateMessage(message: Message, path: string, depth: number, walk: Walk): void {
  const { notes } = walk;
  for (const [field, value] of Object.entries(message) as [string, unknown][]) {
    if (!isPart(value)) continue;
    const at = `${path}.${snake(field)}`;
    if (isPart(value.contextInfo)) tolerateContextInfo(value.contextInfo as ContextInfo, `${at}.context_info`, depth, walk);
    if (isPart(value.key)) tolerateKey(value.key as MessageKey, `${at}.key`, notes);
    if (isPart(value.editedMessage)) tolerateMessage(value.editedMessage as Message, `${at}.edited_message`, depth + 1, walk);
    // A wrapper (content-wrappers.ts) adds no level of quoting.
    if (isPart(value.message)) tolerateMessage(value.message as Message, `${at}.message`, depth, walk);
  }
}

function tolerateContextInfo(info: ContextInfo, path: string, depth: number, walk: Walk): void {
  const { notes } = walk;
  info.participant = usableUri(info.participant, `${path}.participant`, notes);
  info.remoteJid = usableUri(info.remoteJid, `${path}.remote_jid`, notes);
  // Mentions only decorate the text: each one that names nobody is dropped on its own.
  info.mentionedJid = info.mentionedJid.map((m, i) => usableUri(m, `${path}.mentioned_jid[${i}]`, notes)).filter((m) => m.length > 0);
  if (info.expiration > MAX_DISAPPEARING_SECONDS) {
    notes.push(`${path}.expiration: dropped, ${info.expiration} seconds is longer than any disappearing timer`);
    info.expiration = 0;
  }
  if (info.stanzaId.length > 0 && !isMessageRefString(info.stanzaId)) {
    notes.push(`${path}: the quote was dropped, its stanza_id is no usable message reference`);
    info.stanzaId = "";
    info.participant = "";
    info.quotedMessage = undefined;
    return;
  }
  const quoted = info.quotedMessage;
  if (!quoted) return;
  const at = `${path}.quoted_message`;
  if (info.stanzaId.length === 0) {
    notes.push(`${at}: dropped, a quoted message without stanza_id refers to nothing`);
    info.quotedMessage = undefined;
    return;
  }
  if (depth + 1 > MAX_MESSAGE_NESTING) {
    notes.push(`${at}: dropped, quotes nest more than ${MAX_MESSAGE_NESTING} levels deep`);
    info.quotedMessage = undefined;
    return;
  }
  tolerateMessage(quoted, at, depth + 1, walk);
  // The copy is only there to be shown with the reply: if it breaks a rule, the reply still stands without it.
  try {
    walk.validateMessage(quoted, at, depth + 1);
  } catch (err) {
    if (!isProtocolError(err)) throw err;
    notes.push(`${at}: dropped (${err.message})`);
    info.quotedMessage = undefined;
  }
}

function tolerateKey(key: MessageKey, path: string, notes: string[]): void {
  key.participant = usableUri(key.participant, `${path}.participant`, notes);
  key.remoteJid = usableUri(key.remoteJid, `${path}.remote_jid`, notes);
}

/** The URI as it is, a WhatsApp user JID as its tel: URI, or "" (dropped) for anything else. */
function usableUri(value: string, path: string, notes: string[]): string {
  if (value.length === 0 || isValidUri(value)) return value;
  const fromJid = telUriOfJid(value);
  if (fromJid !== undefined) return fromJid;
  notes.push(`${path}: dropped, ${describe(value)} is no interop URI`);
  return "";
}

/**
 * WhatsApp names a user "<phone digits>[:<device>]@s.whatsapp.net" (older clients "@c.us"); the digits are the
 * E.164 number without "+". Other JIDs (groups, "@lid" pseudonyms, broadcasts) name no phone number.
 */
export function telUriOfJid(jid: string): string | undefined {
  const m = /^(\d{1,15})(?::\d{1,3})?@(?:s\.whatsapp\.net|c\.us)$/.exec(jid);
  if (!m) return undefined;
  const e164 = `+${m[1]}`;
  return isE164(e164) ? telUri(e164) : undefined;
}

function isPart(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && "$typeName" in value;
}

function snake(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function describe(s: string): string {
  return s.length > 40 ? `a ${s.length}-character string` : JSON.stringify(s);
}
