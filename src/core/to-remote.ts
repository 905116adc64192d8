// Matrix events -> interop content. Pure: lookups of earlier messages come in through the context.
import type { Content } from "../protocol/gen/content_pb.js";
import { editContent, reactionContent, revokeContent, textContent } from "../protocol/content-builders.js";
import type { MappedMessage } from "../store/message-map.js";
import { toWhatsAppText, type MatrixTextContent } from "./text-format.js";
import { remoteTextTooLong } from "./text-limits.js";

export type ToRemoteResult = { ok: true; content: Content } | { ok: false; reason: string };

export interface OutgoingContext {
  /** The chat partner's URI (WhatsApp's remoteJid from our side). */
  remoteUri: string;
  /** The bridged message behind a Matrix event of this room, if any. */
  mapped(eventId: string): MappedMessage | undefined;
  now: bigint;
}

type Relation = { rel_type?: unknown; event_id?: unknown; key?: unknown; "m.in_reply_to"?: { event_id?: unknown } };

const TEXT_TYPES = new Set(["m.text", "m.notice", "m.emote"]);
export const MEDIA_TYPES = new Set(["m.image", "m.video", "m.audio", "m.file"]);
const MEDIA_NAMES: Record<string, string> = {
  "m.image": "images",
  "m.video": "videos",
  "m.audio": "audio messages",
  "m.file": "files",
  "m.location": "locations",
  "m.sticker": "stickers",
};

/** Matrix content -> WhatsApp text. Reply fallbacks (plain and <mx-reply>) are removed by the formatter. */
function textOf(content: Record<string, unknown>): string {
  const t: MatrixTextContent = { body: typeof content.body === "string" ? content.body : "" };
  if (content.format === "org.matrix.custom.html" && typeof content.formatted_body === "string") {
    t.format = content.format;
    t.formatted_body = content.formatted_body;
  }
  const text = toWhatsAppText(t);
  return content.msgtype === "m.emote" ? `/me ${text}` : text;
}

export function messageToRemote(content: Record<string, unknown>, ctx: OutgoingContext): ToRemoteResult {
  const relates = (content["m.relates_to"] ?? {}) as Relation;
  if (relates.rel_type === "m.replace") return editToRemote(content, relates, ctx);
  const msgtype = typeof content.msgtype === "string" ? content.msgtype : "";
  if (!TEXT_TYPES.has(msgtype)) {
    const what = MEDIA_NAMES[msgtype] ?? `"${msgtype || "untyped"}" messages`;
    return { ok: false, reason: `${what} are not bridged yet` };
  }
  if (typeof content.body !== "string" || content.body.trim() === "") return { ok: false, reason: "the message is empty" };
  const replyTo = typeof relates["m.in_reply_to"]?.event_id === "string" ? relates["m.in_reply_to"].event_id : undefined;
  const text = textOf(content);
  // Refused here, with a reason for the user: the encoder would throw, and the event would be retried for nothing.
  const tooLong = remoteTextTooLong(text);
  if (tooLong) return { ok: false, reason: tooLong };
  const target = replyTo ? ctx.mapped(replyTo) : undefined;
  // A reply to something that never crossed the bridge is sent as plain text rather than refused.
  return { ok: true, content: textContent(text, target ? { stanzaId: target.messageId, participant: target.sender } : undefined) };
}

function editToRemote(content: Record<string, unknown>, relates: Relation, ctx: OutgoingContext): ToRemoteResult {
  const target = typeof relates.event_id === "string" ? ctx.mapped(relates.event_id) : undefined;
  if (!target) return { ok: false, reason: "the edited message was never bridged, so the edit cannot be sent" };
  if (target.direction !== "out") return { ok: false, reason: "only your own messages can be edited" };
  const replacement = (content["m.new_content"] ?? content) as Record<string, unknown>;
  if (typeof replacement.body !== "string" || replacement.body.trim() === "") return { ok: false, reason: "the edited text is empty" };
  const text = textOf(replacement);
  const tooLong = remoteTextTooLong(text, "the edited text");
  if (tooLong) return { ok: false, reason: tooLong };
  return { ok: true, content: editContent({ id: target.messageId, remoteJid: ctx.remoteUri, fromMe: true }, text, ctx.now) };
}

export function reactionToRemote(content: Record<string, unknown>, ctx: OutgoingContext): ToRemoteResult {
  const relates = (content["m.relates_to"] ?? {}) as Relation;
  if (relates.rel_type !== "m.annotation" || typeof relates.event_id !== "string" || typeof relates.key !== "string") {
    return { ok: false, reason: "the reaction is malformed" };
  }
  const target = ctx.mapped(relates.event_id);
  if (!target) return { ok: false, reason: "the message you reacted to was never bridged" };
  return {
    ok: true,
    content: reactionContent({ id: target.messageId, remoteJid: ctx.remoteUri, fromMe: target.direction === "out" }, relates.key, ctx.now),
  };
}

/** Removing a reaction is a reaction with empty text. */
export function reactionRemovalToRemote(targetMessageId: string, targetDirection: "in" | "out", ctx: OutgoingContext): Content {
  return reactionContent({ id: targetMessageId, remoteJid: ctx.remoteUri, fromMe: targetDirection === "out" }, "", ctx.now);
}

export function revokeToRemote(target: MappedMessage, ctx: OutgoingContext): ToRemoteResult {
  if (target.direction !== "out") return { ok: false, reason: `only your own messages can be deleted for everyone` };
  return { ok: true, content: revokeContent({ id: target.messageId, remoteJid: ctx.remoteUri, fromMe: true }, ctx.now) };
}
