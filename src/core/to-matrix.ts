// Interop content -> what the core does on Matrix. Pure: the core resolves message IDs to events.
import type { Content, Message } from "../protocol/gen/content_pb.js";
import { ProtocolMessage_Type } from "../protocol/gen/content_pb.js";

export type ToMatrixResult =
  | { kind: "message"; text: string; replyTo?: { messageId: string; quotedText?: string } }
  | { kind: "edit"; targetId: string; text: string }
  | { kind: "revoke"; targetId: string }
  | { kind: "reaction"; targetId: string; emoji: string }
  | { kind: "receipt"; receiptType: "delivered" | "read" | "played"; messageIds: string[] }
  | { kind: "typing"; typing: boolean; audio: boolean }
  | { kind: "media"; message: Message; what: string; replyTo?: string }
  | { kind: "unsupported"; what: string };

export function plainTextOf(m: Message | undefined): string | undefined {
  if (!m) return undefined;
  return m.conversation || m.extendedTextMessage?.text || m.imageMessage?.caption || m.videoMessage?.caption || m.documentMessage?.caption || undefined;
}

export function contentToMatrix(c: Content): ToMatrixResult {
  if (c.message) return messageToMatrix(c.message);
  if (c.receipt) {
    const t = c.receipt.type;
    return { kind: "receipt", receiptType: t === 1 ? "read" : t === 2 ? "played" : "delivered", messageIds: [...c.receipt.messageIds] };
  }
  if (c.chatState) return { kind: "typing", typing: c.chatState.state === 0, audio: c.chatState.audio };
  return { kind: "unsupported", what: "an empty message" };
}

function messageToMatrix(m: Message): ToMatrixResult {
  if (m.conversation) return { kind: "message", text: m.conversation };
  const ext = m.extendedTextMessage;
  if (ext?.text) {
    const ctx = ext.contextInfo;
    if (ctx?.stanzaId) {
      const quotedText = plainTextOf(ctx.quotedMessage);
      return { kind: "message", text: ext.text, replyTo: { messageId: ctx.stanzaId, ...(quotedText ? { quotedText } : {}) } };
    }
    return { kind: "message", text: ext.text };
  }
  const r = m.reactionMessage;
  if (r?.key?.id) return { kind: "reaction", targetId: r.key.id, emoji: r.text };
  const p = m.protocolMessage;
  if (p?.key?.id) {
    if (p.type === ProtocolMessage_Type.REVOKE) return { kind: "revoke", targetId: p.key.id };
    if (p.type === ProtocolMessage_Type.MESSAGE_EDIT) {
      const text = plainTextOf(p.editedMessage);
      if (text) return { kind: "edit", targetId: p.key.id, text };
      return { kind: "unsupported", what: "an edit without text" };
    }
    return { kind: "unsupported", what: "a protocol message of an unknown type" };
  }
  const media = m.imageMessage ?? m.videoMessage ?? m.audioMessage ?? m.documentMessage;
  const what = m.imageMessage
    ? "an image"
    : m.videoMessage
      ? "a video"
      : m.audioMessage
        ? m.audioMessage.ptt
          ? "a voice note"
          : "an audio file"
        : m.documentMessage
          ? "a file"
          : "a message of a kind this bridge does not know (for example a sticker, poll, location or contact)";
  const replyTo = media?.contextInfo?.stanzaId;
  if (media) return { kind: "media", message: m, what, ...(replyTo ? { replyTo } : {}) };
  return { kind: "unsupported", what };
}
