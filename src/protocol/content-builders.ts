// Builders for the contents the bridge sends most, so callers do not assemble protobuf trees by hand. Each returns a
// validated Content ready for encodeContent().
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ChatState_State,
  ContentSchema,
  ProtocolMessage_Type,
  Receipt_Type,
  type Content,
  type MessageKeySchema,
} from "./gen/content_pb.js";
import { validateContent } from "./content.js";
import { invalidField } from "./errors.js";

export { ChatState_State as ChatStateKind, ProtocolMessage_Type, Receipt_Type as ReceiptType };

/** Which message a reaction, edit or revoke is about (WhatsApp's MessageKey). */
export interface MessageRef {
  /** 32 uppercase hex digits (message-id.ts). */
  id: string;
  /** The chat, from the sender's point of view: the URI of the other party in a 1:1 chat. */
  remoteJid: string;
  /** True when the sender of this content also sent the referenced message. */
  fromMe: boolean;
}

export interface QuoteRef {
  /** ID of the quoted message. */
  stanzaId: string;
  /** URI of the quoted message's author. */
  participant: string;
}

function key(ref: MessageRef): MessageInitShape<typeof MessageKeySchema> {
  return { id: ref.id, remoteJid: ref.remoteJid, fromMe: ref.fromMe };
}

function nonEmpty(text: string, field: string): string {
  if (text.length === 0) throw invalidField(field, "must not be empty");
  return text;
}

/** Plain text; with `quote`, an extended text message replying to that message. */
export function textContent(text: string, quote?: QuoteRef): Content {
  nonEmpty(text, "text");
  if (quote === undefined) return validateContent(create(ContentSchema, { message: { conversation: text } }));
  return validateContent(
    create(ContentSchema, {
      message: { extendedTextMessage: { text, contextInfo: { stanzaId: quote.stanzaId, participant: quote.participant } } },
    }),
  );
}

/** A reaction; an empty `emoji` removes the sender's earlier reaction. */
export function reactionContent(target: MessageRef, emoji: string, senderTimestampMs: bigint): Content {
  return validateContent(
    create(ContentSchema, { message: { reactionMessage: { key: key(target), text: emoji, senderTimestampMs } } }),
  );
}

/** Replaces the text of an earlier message of the sender's. */
export function editContent(target: MessageRef, newText: string, timestampMs: bigint): Content {
  nonEmpty(newText, "text");
  return validateContent(
    create(ContentSchema, {
      message: {
        protocolMessage: {
          key: key(target),
          type: ProtocolMessage_Type.MESSAGE_EDIT,
          editedMessage: { conversation: newText },
          timestampMs,
        },
      },
    }),
  );
}

/** Deletes an earlier message of the sender's for everyone. */
export function revokeContent(target: MessageRef, timestampMs: bigint): Content {
  return validateContent(
    create(ContentSchema, {
      message: { protocolMessage: { key: key(target), type: ProtocolMessage_Type.REVOKE, timestampMs } },
    }),
  );
}

export function receiptContent(type: Receipt_Type, messageIds: readonly string[], timestampMs: bigint): Content {
  return validateContent(create(ContentSchema, { receipt: { type, messageIds: [...messageIds], timestampMs } }));
}

export function chatStateContent(state: ChatState_State, audio = false): Content {
  return validateContent(create(ContentSchema, { chatState: { state, audio } }));
}
