// A WhatsApp media message (imageMessage, videoMessage, audioMessage or documentMessage) as the core carries it:
// opaque, tagged with the network so that a codec never encodes another network's media.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RemoteMedia } from "../../core/events.js";
import type { Message, MessageSchema } from "../../protocol/gen/content_pb.js";

export type MessageInit = MessageInitShape<typeof MessageSchema>;

const NETWORK = "whatsapp";

export function whatsAppMedia(message: Message | MessageInit): RemoteMedia {
  return { network: NETWORK, value: message };
}

export function isWhatsAppMedia(media: RemoteMedia): boolean {
  return media.network === NETWORK;
}

/** The message inside; throws for another network's media (a wiring error, not user input). */
export function mediaMessageOf(media: RemoteMedia): Message {
  if (!isWhatsAppMedia(media)) throw new Error(`media of the ${media.network} network reached the WhatsApp media bridge`);
  return media.value as Message;
}
