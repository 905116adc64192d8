// Content: what users say, inside the Signal ciphertext of an envelope. Serialised with protobuf, then padded
// (padding.ts), then encrypted. Decoding validates the rules of docs/interop-protocol.md ("Content"), so code past
// this point can rely on IDs, URIs and media keys being well-formed.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ChatState_State,
  ContentSchema,
  ProtocolMessage_Type,
  Receipt_Type,
  type AudioMessage,
  type ChatState,
  type Content,
  type ContextInfo,
  type DocumentMessage,
  type ImageMessage,
  type Message,
  type MessageKey,
  type ProtocolMessage,
  type Receipt,
  type StickerMessage,
  type VideoMessage,
} from "./gen/content_pb.js";
import { checkByteLength } from "./checks.js";
import { ProtocolError, invalidField } from "./errors.js";
import { MAX_CONTENT_BYTES, MAX_DISAPPEARING_SECONDS, MAX_MESSAGE_NESTING, MAX_REACTION_LENGTH, MAX_RECEIPT_IDS } from "./limits.js";
import { MAX_WRAPPERS, unwrapMessage, WRAPPERS, wrapperOf } from "./content-wrappers.js";
import { MORE_KINDS, moreKindOf, validateMoreKinds, type MoreKind } from "./content-kinds.js";
import { checkMessageRefString } from "./message-id.js";
import { pad, unpad } from "./padding.js";
import { tolerate } from "./content-tolerance.js";
import { decodeProto, encodeProto } from "./proto-codec.js";
import { checkUri } from "./uri.js";

export type { Content, Message };
export type ContentInit = MessageInitShape<typeof ContentSchema>;

export type ContentKind =
  | "text"
  | "extended_text"
  | "image"
  | "video"
  | "audio"
  | "document"
  | "reaction"
  | "revoke"
  | "edit"
  | "ephemeral_setting"
  | "receipt"
  | "chat_state"
  | MoreKind
  | "unknown";

const MEDIA_KEY_BYTES = 32;
const SHA256_BYTES = 32;

/** Serialises, validates and pads. `padding` fixes the padding length (1..15; tests and vectors), else random. */
export function encodeContent(init: ContentInit, opts: { padding?: number } = {}): Uint8Array {
  const content = validateContent(create(ContentSchema, init));
  const bytes = encodeProto(ContentSchema, content, MAX_CONTENT_BYTES, "content");
  const padded = pad(bytes, opts.padding);
  if (padded.length > MAX_CONTENT_BYTES) {
    throw new ProtocolError("oversized", `content: ${padded.length} bytes exceed the limit of ${MAX_CONTENT_BYTES}`);
  }
  return padded;
}

/**
 * Unpads, parses and validates the plaintext of a decrypted envelope. A field that is only context (a quote, a
 * participant, one receipt ID) and cannot be used is dropped rather than failing the message (content-tolerance.ts);
 * what was dropped is appended to `dropped`, one sentence each, for the log.
 */
export function decodeContent(bytes: Uint8Array, dropped: string[] = []): Content {
  if (bytes instanceof Uint8Array && bytes.length > MAX_CONTENT_BYTES) {
    throw new ProtocolError("oversized", `content: ${bytes.length} bytes exceed the limit of ${MAX_CONTENT_BYTES}`);
  }
  const content = decodeProto(ContentSchema, unpad(bytes), MAX_CONTENT_BYTES, "content");
  dropped.push(...tolerate(content, validateMessage));
  return validateContent(content);
}

/** Exactly one of message, receipt and chat_state is set; each follows the rules of the spec. */
export function validateContent(content: Content): Content {
  const set = [content.message && "message", content.receipt && "receipt", content.chatState && "chat_state"].filter(
    (name): name is string => typeof name === "string",
  );
  if (set.length !== 1) {
    throw invalidField(
      "content",
      set.length === 0 ? "one of message, receipt, chat_state must be set" : `only one may be set, got ${set.join(" and ")}`,
    );
  }
  if (content.message) validateMessage(content.message, "message", 0);
  if (content.receipt) validateReceipt(content.receipt, "receipt");
  if (content.chatState) validateChatState(content.chatState, "chat_state");
  return content;
}

type MessageField = Exclude<keyof Message, "$typeName" | "$unknown">;

/** Message fields holding a kind of message, with the name the spec uses for them. */
const MESSAGE_KINDS: readonly [MessageField, string][] = [
  ["conversation", "conversation"],
  ["imageMessage", "image_message"],
  ["extendedTextMessage", "extended_text_message"],
  ["documentMessage", "document_message"],
  ["audioMessage", "audio_message"],
  ["videoMessage", "video_message"],
  ["protocolMessage", "protocol_message"],
  ["reactionMessage", "reaction_message"],
  ...MORE_KINDS.map(([field, name]) => [field, name] as [MessageField, string]),
  ...WRAPPERS.map(([field, name]) => [field, name] as [MessageField, string]),
];

function setKinds(message: Message): string[] {
  return MESSAGE_KINDS.filter(([field]) => {
    const value = message[field];
    return typeof value === "string" ? value.length > 0 : value !== undefined;
  }).map(([, name]) => name);
}

/**
 * A Message with no known kind set is valid and has kind "unknown" (a later revision's new message type): the
 * receiver shows a notice instead of dropping it. Two kinds at once is invalid.
 */
export function validateMessage(message: Message, path: string, depth: number, wrapped = 0): void {
  if (depth > MAX_MESSAGE_NESTING) {
    throw invalidField(path, `messages nest at most ${MAX_MESSAGE_NESTING} levels deep (quotes, edits)`);
  }
  const kinds = setKinds(message);
  if (kinds.length > 1) throw invalidField(path, `holds more than one kind of message: ${kinds.join(", ")}`);
  const m = message;
  const wrapper = wrapperOf(m);
  if (wrapper) {
    // A wrapper only adds flags, so it does not count as a level of quoting; its own depth has a limit of its own.
    const at = `${path}.${wrapper.name}`;
    if (wrapped + 1 > MAX_WRAPPERS) throw invalidField(at, `wrappers nest at most ${MAX_WRAPPERS} levels deep`);
    if (!wrapper.inner.message) throw invalidField(`${at}.message`, "is required in a wrapper");
    validateMessage(wrapper.inner.message, `${at}.message`, depth, wrapped + 1);
    return;
  }
  if (m.extendedTextMessage) {
    const at = `${path}.extended_text_message`;
    if (m.extendedTextMessage.text.length === 0) throw invalidField(`${at}.text`, "must not be empty");
    validateContextInfo(m.extendedTextMessage.contextInfo, `${at}.context_info`, depth);
  }
  if (m.imageMessage) validateMedia(m.imageMessage, `${path}.image_message`, depth);
  if (m.videoMessage) validateMedia(m.videoMessage, `${path}.video_message`, depth);
  if (m.audioMessage) validateMedia(m.audioMessage, `${path}.audio_message`, depth);
  if (m.documentMessage) validateMedia(m.documentMessage, `${path}.document_message`, depth);
  if (m.reactionMessage) {
    const at = `${path}.reaction_message`;
    validateKey(m.reactionMessage.key, `${at}.key`);
    if (m.reactionMessage.text.length > MAX_REACTION_LENGTH) {
      throw invalidField(`${at}.text`, `a reaction is at most ${MAX_REACTION_LENGTH} characters`);
    }
  }
  if (m.protocolMessage) validateProtocolMessage(m.protocolMessage, `${path}.protocol_message`, depth);
  if (m.ptvMessage) validateMedia(m.ptvMessage, `${path}.ptv_message`, depth);
  validateMoreKinds(m, path, { media: (part, at) => validateMedia(part, at, depth), key: (key, at) => validateKey(key, at) });
}

function validateProtocolMessage(pm: ProtocolMessage, path: string, depth: number): void {
  // A timer change is about the chat, not a message: WhatsApp's clients send it without a key.
  if (pm.type !== ProtocolMessage_Type.EPHEMERAL_SETTING || pm.key) validateKey(pm.key, `${path}.key`);
  switch (pm.type) {
    case ProtocolMessage_Type.REVOKE:
      if (pm.editedMessage) throw invalidField(`${path}.edited_message`, "must be absent in a REVOKE");
      break;
    case ProtocolMessage_Type.MESSAGE_EDIT: {
      const edited = pm.editedMessage;
      if (!edited) throw invalidField(`${path}.edited_message`, "is required in a MESSAGE_EDIT");
      const kinds = setKinds(edited);
      if (kinds.some((k) => k === "protocol_message" || k === "reaction_message")) {
        throw invalidField(`${path}.edited_message`, "must be a text or media message, not a reaction or protocol message");
      }
      validateMessage(edited, `${path}.edited_message`, depth + 1);
      break;
    }
    case ProtocolMessage_Type.EPHEMERAL_SETTING:
      if (pm.ephemeralExpiration > MAX_DISAPPEARING_SECONDS) {
        throw invalidField(`${path}.ephemeral_expiration`, `a disappearing timer is at most ${MAX_DISAPPEARING_SECONDS} seconds`);
      }
      break;
    default:
      // Unknown protocol message types are left to contentKind() ("unknown"), like unknown message kinds.
      break;
  }
}

type MediaMessage = ImageMessage | VideoMessage | AudioMessage | DocumentMessage | StickerMessage;

function validateMedia(media: MediaMessage, path: string, depth: number): void {
  checkByteLength(media.mediaKey, MEDIA_KEY_BYTES, `${path}.media_key`);
  checkByteLength(media.fileSha256, SHA256_BYTES, `${path}.file_sha256`);
  checkByteLength(media.fileEncSha256, SHA256_BYTES, `${path}.file_enc_sha256`);
  if (media.directPath.length === 0 && media.url.length === 0) {
    throw invalidField(path, "direct_path or url must say where the encrypted file is");
  }
  if (media.fileLength > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidField(`${path}.file_length`, "is larger than any file can be");
  }
  validateContextInfo(media.contextInfo, `${path}.context_info`, depth);
}

function validateContextInfo(info: ContextInfo | undefined, path: string, depth: number): void {
  if (!info) return;
  if (info.stanzaId.length > 0) checkMessageRefString(info.stanzaId, `${path}.stanza_id`);
  if (info.participant.length > 0) checkUri(info.participant, `${path}.participant`);
  if (info.remoteJid.length > 0) checkUri(info.remoteJid, `${path}.remote_jid`);
  info.mentionedJid.forEach((uri, i) => checkUri(uri, `${path}.mentioned_jid[${i}]`));
  if (info.quotedMessage) {
    if (info.stanzaId.length === 0) throw invalidField(`${path}.stanza_id`, "is required with quoted_message");
    validateMessage(info.quotedMessage, `${path}.quoted_message`, depth + 1);
  }
}

function validateKey(key: MessageKey | undefined, path: string): void {
  if (!key) throw invalidField(path, "is required");
  checkMessageRefString(key.id, `${path}.id`);
  if (key.remoteJid.length > 0) checkUri(key.remoteJid, `${path}.remote_jid`);
  if (key.participant.length > 0) checkUri(key.participant, `${path}.participant`);
}

function validateReceipt(receipt: Receipt, path: string): void {
  if (!(receipt.type in Receipt_Type)) throw invalidField(`${path}.type`, `unknown receipt type ${receipt.type}`);
  if (receipt.messageIds.length === 0) throw invalidField(`${path}.message_ids`, "must list at least one message");
  if (receipt.messageIds.length > MAX_RECEIPT_IDS) {
    throw invalidField(`${path}.message_ids`, `lists ${receipt.messageIds.length} IDs, at most ${MAX_RECEIPT_IDS} allowed`);
  }
  receipt.messageIds.forEach((id, i) => checkMessageRefString(id, `${path}.message_ids[${i}]`));
}

function validateChatState(state: ChatState, path: string): void {
  if (!(state.state in ChatState_State)) throw invalidField(`${path}.state`, `unknown chat state ${state.state}`);
}

/** What the bridge should do with a decoded content; "unknown" = tell the user a message could not be shown. */
export function contentKind(content: Content): ContentKind {
  if (content.receipt) return "receipt";
  if (content.chatState) return "chat_state";
  const m = content.message;
  if (!m) return "unknown";
  return messageKind(m);
}

export function messageKind(wrapped: Message): ContentKind {
  const m = unwrapMessage(wrapped).message;
  if (m.conversation.length > 0) return "text";
  if (m.extendedTextMessage) return "extended_text";
  const more = moreKindOf(m);
  if (more) return more;
  const media = mediaPartOf(m);
  if (media) return media.kind;
  if (m.reactionMessage) return "reaction";
  if (m.protocolMessage) {
    if (m.protocolMessage.type === ProtocolMessage_Type.REVOKE) return "revoke";
    if (m.protocolMessage.type === ProtocolMessage_Type.MESSAGE_EDIT) return "edit";
    if (m.protocolMessage.type === ProtocolMessage_Type.EPHEMERAL_SETTING) return "ephemeral_setting";
  }
  return "unknown";
}

/** The media part of a message and its kind, the one place that decides which field makes a message a media one. */
export type MediaPart =
  | { kind: "image"; part: ImageMessage }
  | { kind: "video"; part: VideoMessage }
  | { kind: "audio"; part: AudioMessage }
  | { kind: "document"; part: DocumentMessage }
  /** Stickers are images to the media keys (WhatsApp encrypts them with the image keys). */
  | { kind: "sticker"; part: StickerMessage };

/** Looks inside wrappers (content-wrappers.ts): a disappearing chat's image is still an image. */
export function mediaPartOf(wrapped: Message): MediaPart | undefined {
  const m = unwrapMessage(wrapped).message;
  if (m.imageMessage) return { kind: "image", part: m.imageMessage };
  if (m.videoMessage) return { kind: "video", part: m.videoMessage };
  if (m.audioMessage) return { kind: "audio", part: m.audioMessage };
  if (m.documentMessage) return { kind: "document", part: m.documentMessage };
  // A video note is a video message in a field of its own; it is encrypted as a video.
  if (m.ptvMessage) return { kind: "video", part: m.ptvMessage };
  if (m.stickerMessage) return { kind: "sticker", part: m.stickerMessage };
  return undefined;
}
