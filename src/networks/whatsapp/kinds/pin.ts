// Pinned messages: WhatsApp's pinInChatMessage pins or unpins a message of the chat for both sides.
import type { MessageRef, RemoteEvent } from "../../../core/events.js";
import { PinInChatMessage_Type, type Message } from "../../../protocol/gen/content_pb.js";
import type { MessageInit } from "../media-message.js";

export function pinEvent(m: Message): RemoteEvent | undefined {
  const pin = m.pinInChatMessage;
  if (!pin?.key?.id) return undefined;
  if (pin.type === PinInChatMessage_Type.PIN_FOR_ALL) return { kind: "pin", targetId: pin.key.id, pinned: true };
  if (pin.type === PinInChatMessage_Type.UNPIN_FOR_ALL) return { kind: "pin", targetId: pin.key.id, pinned: false };
  return { kind: "unsupported", what: "a pin of an unknown kind" };
}

export function pinMessage(target: MessageRef, contact: string, pinned: boolean, nowMs: number): MessageInit {
  return {
    pinInChatMessage: {
      key: { id: target.messageId, remoteJid: contact, fromMe: target.fromMe },
      type: pinned ? PinInChatMessage_Type.PIN_FOR_ALL : PinInChatMessage_Type.UNPIN_FOR_ALL,
      senderTimestampMs: BigInt(nowMs),
    },
  };
}
