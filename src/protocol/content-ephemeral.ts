// Disappearing messages as WhatsApp's clients write them: the chat's timer is changed by a protocol message of type
// EPHEMERAL_SETTING, and every message sent while it is on travels inside ephemeral_message with the timer in its
// ContextInfo.expiration (receivers also take the timer from there, so both sides stay in step).
import { create } from "@bufbuild/protobuf";
import { validateContent } from "./content.js";
import { unwrapMessage } from "./content-wrappers.js";
import { ContentSchema, ContextInfoSchema, ExtendedTextMessageSchema, ProtocolMessage_Type, type Content, type ContextInfo, type Message } from "./gen/content_pb.js";
import { invalidField } from "./errors.js";
import { MAX_DISAPPEARING_SECONDS } from "./limits.js";

export { MAX_DISAPPEARING_SECONDS };

/** The chat's disappearing-messages timer becomes `seconds` (0: off), as of `nowMs`. */
export function disappearingTimerContent(seconds: number, nowMs: number): Content {
  checkTimer(seconds, "ephemeral_expiration");
  return validateContent(
    create(ContentSchema, {
      message: {
        protocolMessage: {
          type: ProtocolMessage_Type.EPHEMERAL_SETTING,
          ephemeralExpiration: seconds,
          ephemeralSettingTimestamp: BigInt(Math.floor(nowMs / 1000)),
        },
      },
    }),
  );
}

/**
 * The content's message as sent in a chat whose timer is `seconds`: inside ephemeral_message, with the timer in the
 * ContextInfo of the message (plain text becomes extended text, the form that has one). Other contents are returned
 * as they are.
 */
export function withExpiration(content: Content, seconds: number): Content {
  checkTimer(seconds, "expiration");
  const m = content.message;
  if (!m || seconds === 0) return content;
  const inner = create(ContentSchema, content).message!;
  const info = contextInfoOf(inner);
  if (!info) return content;
  info.expiration = seconds;
  return validateContent(create(ContentSchema, { message: { ephemeralMessage: { message: inner } } }));
}

/** The timer a message says its chat has (ContextInfo.expiration of the message inside any wrapper); 0 if none. */
export function expirationOf(m: Message): number {
  const inner = unwrapMessage(m).message;
  return partWithContext(inner)?.contextInfo?.expiration ?? 0;
}

/** The ContextInfo the message's kind carries, created if absent; undefined for kinds that have none. */
function contextInfoOf(m: Message): ContextInfo | undefined {
  if (m.conversation) {
    m.extendedTextMessage = create(ExtendedTextMessageSchema, { text: m.conversation });
    m.conversation = "";
  }
  const part = partWithContext(m);
  if (!part) return undefined;
  part.contextInfo ??= create(ContextInfoSchema);
  return part.contextInfo;
}

/** The part of a message that holds its ContextInfo, for every kind that has one. */
function partWithContext(m: Message): { contextInfo?: ContextInfo | undefined } | undefined {
  return (
    m.extendedTextMessage ?? m.imageMessage ?? m.videoMessage ?? m.audioMessage ?? m.documentMessage ?? m.stickerMessage ?? m.ptvMessage ??
    m.locationMessage ?? m.liveLocationMessage ?? m.contactMessage ?? m.contactsArrayMessage ?? m.pollCreationMessage ?? m.pollCreationMessageV2 ?? m.pollCreationMessageV3
  );
}

function checkTimer(seconds: number, field: string): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_DISAPPEARING_SECONDS) {
    throw invalidField(field, `a disappearing timer is 0..${MAX_DISAPPEARING_SECONDS} whole seconds, got ${seconds}`);
  }
}
