// The core's events <-> WhatsApp's content protobuf (interop-protocol §8), as the outbox and inbox store it.
import { create } from "@bufbuild/protobuf";
import type { MessageRef, OutgoingEvent, ReceiptKind, RemoteEvent } from "../../core/events.js";
import type { ContentCodec, Encoded } from "../../core/ports.js";
import { codePoints } from "../../core/text-limits.js";
import { decodeContent, encodeContent } from "../../protocol/content.js";
import { isProtocolError } from "../../protocol/errors.js";
import { chatStateContent, ChatStateKind, editContent, reactionContent, receiptContent, ReceiptType, revokeContent, textContent } from "../../protocol/content-builders.js";
import { ContentSchema, ProtocolMessage_Type, type Content, type Message } from "../../protocol/gen/content_pb.js";
import { MAX_CONTENT_BYTES } from "../../protocol/limits.js";
import { disappearingTimerContent, expirationOf, withExpiration } from "../../protocol/content-ephemeral.js";
import { unwrapMessage } from "../../protocol/content-wrappers.js";
import { contactEvent } from "./kinds/contact.js";
import { contextOf, previewFields, previewOf } from "./kinds/context.js";
import { locationEvent, locationMessage } from "./kinds/location.js";
import { pinEvent, pinMessage } from "./kinds/pin.js";
import { openWhatsAppVote, pollEvent, pollMessage, voteMessage } from "./kinds/poll.js";
import { newPollSecret } from "../../protocol/poll-vote-crypto.js";
import { stickerFromImage } from "./kinds/sticker.js";
import { viewOnceEvent } from "./kinds/view-once.js";
import { isWhatsAppMedia, whatsAppMedia, type MessageInit } from "./media-message.js";

/** A Content is at most MAX_CONTENT_BYTES once padded; this leaves room for the quote, the edit wrapper and padding. */
export const TEXT_MAX_BYTES = MAX_CONTENT_BYTES - 8 * 1024;

export const whatsAppCodec: ContentCodec = {
  decode(bytes) {
    if (bytes.length === 0) return { kind: "unsupported", what: "a message that could not be decrypted" };
    let content: Content;
    const dropped: string[] = [];
    try {
      content = decodeContent(bytes, dropped);
    } catch (err) {
      return { kind: "unsupported", what: "an unreadable message", detail: (err as Error).message };
    }
    const event = contentToEvent(content);
    // A message of a disappearing chat says how long it lives; the core schedules its redaction.
    const expiresInSeconds = content.message && (event.kind === "message" || event.kind === "media") ? expirationOf(content.message) : 0;
    return { ...event, ...(dropped.length > 0 ? { dropped } : {}), ...(expiresInSeconds > 0 ? { expiresInSeconds } : {}) };
  },
  encode(event, chat) {
    try {
      return encodeEvent(event, chat);
    } catch (err) {
      // The content's own checks (protocol/content.ts) refused it: nothing the same event could ever pass.
      if (isProtocolError(err)) return { ok: false, reason: `it cannot be sent in a form WhatsApp accepts (${err.message})` };
      throw err;
    }
  },
  newPollSecret,
  openVote: openWhatsAppVote,
};

function encodeEvent(event: OutgoingEvent, chat: { contact: string; nowMs: number; disappearingSeconds?: number }): Encoded {
  const now = BigInt(chat.nowMs);
  const key = (ref: MessageRef) => ({ id: ref.messageId, remoteJid: chat.contact, fromMe: ref.fromMe });
  // In a chat with disappearing messages, WhatsApp's clients expect new messages wrapped and carrying the timer.
  const timed = (content: Content) => (chat.disappearingSeconds ? withExpiration(content, chat.disappearingSeconds) : content);
  switch (event.kind) {
    case "message": {
      const text = event.emote ? `/me ${event.text}` : event.text;
      const quote = event.replyTo ? { stanzaId: event.replyTo.messageId, participant: event.replyTo.sender } : undefined;
      const tooBig = tooLong(text, "the message");
      if (tooBig) return tooBig;
      if (!event.mentions?.length && !event.preview) return ok(timed(textContent(text, quote)));
      // Mentions and previews live in the extended text's fields.
      const contextInfo = { ...(quote ?? {}), ...(event.mentions?.length ? { mentionedJid: event.mentions } : {}) };
      return ok(timed(create(ContentSchema, { message: { extendedTextMessage: { text, ...previewFields(event.preview), contextInfo } } })));
    }
    case "location":
      return ok(timed(create(ContentSchema, { message: locationMessage(event.place, event.replyTo ? { stanzaId: event.replyTo.messageId, participant: event.replyTo.sender } : undefined) })));
    case "poll":
      return ok(timed(create(ContentSchema, { message: pollMessage(event.question, event.options, event.maxSelections, event.secret) })));
    case "poll_vote":
      return ok(create(ContentSchema, { message: voteMessage(event.poll, chat.contact, event.voter, event.selected, chat.nowMs) }));
    case "pin":
      return ok(create(ContentSchema, { message: pinMessage(event.target, chat.contact, event.pinned, chat.nowMs) }));
    case "edit":
      return tooLong(event.text, "the edited text") ?? ok(editContent(key(event.target), event.text, now));
    case "media":
      if (!isWhatsAppMedia(event.media)) return { ok: false, reason: "the file was prepared for another network" };
      return ok(timed(create(ContentSchema, { message: event.sticker ? stickerFromImage(event.media.value as MessageInit) : (event.media.value as MessageInit) })));
    case "delete":
      return ok(revokeContent(key(event.target), now));
    case "reaction":
      return ok(reactionContent(key(event.target), event.emoji, now));
    case "receipt":
      return ok(receiptContent(ReceiptType.READ, event.messageIds, now));
    case "typing":
      return ok(chatStateContent(event.typing ? ChatStateKind.COMPOSING : ChatStateKind.PAUSED));
    case "disappearing_timer":
      return ok(disappearingTimerContent(event.seconds, chat.nowMs));
  }
}

function ok(content: Content): Encoded {
  return { ok: true, bytes: encodeContent(content) };
}

/**
 * Why a text is refused, or undefined when it fits: measured in UTF-8 bytes, which is what the limit is; for the user
 * the limit is said in characters of the text's own average width, so the numbers compare.
 */
function tooLong(text: string, what: string): Encoded | undefined {
  const bytes = Buffer.byteLength(text);
  if (bytes <= TEXT_MAX_BYTES) return undefined;
  const chars = codePoints(text);
  const fit = Math.floor((TEXT_MAX_BYTES * chars) / bytes);
  return { ok: false, reason: `${what} is too long to send (${chars} characters; at most about ${fit} fit in one message)` };
}

export function plainTextOf(wrapped: Message | undefined): string | undefined {
  if (!wrapped) return undefined;
  const m = unwrapMessage(wrapped).message;
  return m.conversation || m.extendedTextMessage?.text || m.imageMessage?.caption || m.videoMessage?.caption || m.documentMessage?.caption || undefined;
}

/** An inactive device got it: for the sender that is a delivery. */
const RECEIPT_KINDS: Partial<Record<ReceiptType, ReceiptKind>> = {
  [ReceiptType.DELIVERED]: "delivered",
  [ReceiptType.INACTIVE]: "delivered",
  [ReceiptType.READ]: "read",
  [ReceiptType.PLAYED]: "played",
  [ReceiptType.READ_SELF]: "read_self",
  [ReceiptType.PLAYED_SELF]: "played_self",
};

function contentToEvent(c: Content): RemoteEvent {
  if (c.message) return messageToEvent(c.message);
  if (c.receipt) {
    const t = c.receipt.type;
    return { kind: "receipt", receipt: RECEIPT_KINDS[t] ?? "delivered", messageIds: [...c.receipt.messageIds] };
  }
  if (c.chatState) return { kind: "typing", typing: c.chatState.state === ChatStateKind.COMPOSING, audio: c.chatState.audio };
  return { kind: "unsupported", what: "an empty message" };
}

function messageToEvent(wrapped: Message): RemoteEvent {
  // Wrappers (disappearing chats, captioned documents, newer edits) only add flags to the message inside.
  const { message: m, viewOnce } = unwrapMessage(wrapped);
  if (viewOnce) return viewOnceEvent(m);
  if (m.conversation) return { kind: "message", text: m.conversation };
  const ext = m.extendedTextMessage;
  if (ext?.text) {
    const ctx = ext.contextInfo;
    const preview = previewOf(ext);
    const extras = { ...contextOf(ctx), ...(preview ? { preview } : {}) };
    if (ctx?.stanzaId) {
      const quotedText = plainTextOf(ctx.quotedMessage);
      return { kind: "message", text: ext.text, replyTo: { messageId: ctx.stanzaId, ...(quotedText ? { quotedText } : {}) }, ...extras };
    }
    return { kind: "message", text: ext.text, ...extras };
  }
  const r = m.reactionMessage;
  if (r?.key?.id) return { kind: "reaction", targetId: r.key.id, emoji: r.text };
  const p = m.protocolMessage;
  if (p?.type === ProtocolMessage_Type.EPHEMERAL_SETTING) return { kind: "disappearing_timer", seconds: p.ephemeralExpiration };
  if (p?.key?.id) {
    if (p.type === ProtocolMessage_Type.REVOKE) return { kind: "delete", targetId: p.key.id };
    if (p.type === ProtocolMessage_Type.MESSAGE_EDIT) {
      const text = plainTextOf(p.editedMessage);
      if (text) return { kind: "edit", targetId: p.key.id, text };
      return { kind: "unsupported", what: "an edit without text" };
    }
    return { kind: "unsupported", what: "a protocol message of an unknown type" };
  }
  const media = m.imageMessage ?? m.videoMessage ?? m.audioMessage ?? m.documentMessage ?? m.ptvMessage ?? m.stickerMessage;
  if (media) {
    const replyTo = media.contextInfo?.stanzaId;
    return { kind: "media", media: whatsAppMedia(m), what: mediaWhat(m), ...(replyTo ? { replyTo } : {}), ...(m.stickerMessage ? { sticker: true } : {}), ...contextOf(media.contextInfo) };
  }
  const other = locationEvent(m) ?? contactEvent(m) ?? pollEvent(m, wrapped) ?? pinEvent(m);
  if (other) return other;
  return { kind: "unsupported", what: "a message of a kind this bridge does not know" };
}

function mediaWhat(m: Message): string {
  if (m.imageMessage) return "an image";
  if (m.stickerMessage) return "a sticker";
  if (m.ptvMessage) return "a video note";
  if (m.videoMessage) return "a video";
  if (m.audioMessage) return m.audioMessage.ptt ? "a voice note" : "an audio file";
  return "a file";
}
