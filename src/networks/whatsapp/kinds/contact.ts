// Contact cards: WhatsApp's contactMessage (one vCard) and contactsArrayMessage (several).
import type { ContactCard, RemoteEvent } from "../../../core/events.js";
import type { ContactMessage, Message } from "../../../protocol/gen/content_pb.js";
import { contextOf } from "./context.js";

export function contactEvent(m: Message): RemoteEvent | undefined {
  const one = m.contactMessage;
  const many = m.contactsArrayMessage;
  const cards = one ? [one] : many ? many.contacts : undefined;
  if (!cards) return undefined;
  const info = (one ?? many)?.contextInfo;
  return { kind: "contact", cards: cards.map(cardOf), ...(info?.stanzaId ? { replyTo: info.stanzaId } : {}), ...contextOf(info) };
}

function cardOf(c: ContactMessage): ContactCard {
  return { name: c.displayName, vcard: c.vcard };
}
