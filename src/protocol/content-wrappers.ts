// WhatsApp's clients wrap a message in FutureProofMessage layers that say how to treat it: every message of a chat
// with disappearing messages arrives inside ephemeral_message, view-once media inside one of three view-once
// wrappers, a captioned document inside document_with_caption_message, newer edits inside edited_message. The
// message inside is the one to show; the layers only add flags. Wrappers may nest (ephemeral around view-once).
import type { FutureProofMessage, Message } from "./gen/content_pb.js";

/** Wrapper fields of Message, with the name the spec uses, and the flag each one sets. */
export const WRAPPERS = [
  ["viewOnceMessage", "view_once_message", "viewOnce"],
  ["ephemeralMessage", "ephemeral_message", "ephemeral"],
  ["documentWithCaptionMessage", "document_with_caption_message", undefined],
  ["viewOnceMessageV2", "view_once_message_v2", "viewOnce"],
  ["editedMessage", "edited_message", undefined],
  ["viewOnceMessageV2Extension", "view_once_message_v2_extension", "viewOnce"],
] as const satisfies readonly (readonly [keyof Message, string, keyof WrapperFlags | undefined])[];

/** More layers than WhatsApp ever stacks (ephemeral around view-once around the message) is not a message. */
export const MAX_WRAPPERS = 4;

export interface WrapperFlags {
  /** Sent in a chat with disappearing messages on. */
  ephemeral: boolean;
  /** To be seen once, then gone (the wrapper or the media's own view_once flag). */
  viewOnce: boolean;
}

export interface Unwrapped extends WrapperFlags {
  /** The message inside every wrapper; the message itself when it has none. */
  message: Message;
}

/** The wrapper set on a message, if any: its field, the spec's name for it and the message inside. */
export function wrapperOf(m: Message): { field: (typeof WRAPPERS)[number][0]; name: string; inner: FutureProofMessage } | undefined {
  for (const [field, name] of WRAPPERS) {
    const inner = m[field];
    if (inner) return { field, name, inner };
  }
  return undefined;
}

/** Peels every wrapper off (at most MAX_WRAPPERS; validateContent refuses more), collecting their flags. */
export function unwrapMessage(m: Message): Unwrapped {
  const flags: WrapperFlags = { ephemeral: false, viewOnce: false };
  let message = m;
  for (let i = 0; i < MAX_WRAPPERS; i++) {
    const w = wrapperOf(message);
    if (!w?.inner.message) break;
    const flag = WRAPPERS.find(([field]) => field === w.field)?.[2];
    if (flag) flags[flag] = true;
    message = w.inner.message;
  }
  if (message.imageMessage?.viewOnce || message.videoMessage?.viewOnce || message.audioMessage?.viewOnce) flags.viewOnce = true;
  return { message, ...flags };
}
