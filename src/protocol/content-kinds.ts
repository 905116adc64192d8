// The message kinds WhatsApp's clients send beyond text, media, reactions and protocol messages: stickers, video
// notes, locations (one-off and live), contact cards, polls and pins. Their rules, for content.ts's validator.
import { checkByteLength } from "./checks.js";
import { invalidField } from "./errors.js";
import type { ContactMessage, LiveLocationMessage, LocationMessage, Message, PinInChatMessage, PollCreationMessage, StickerMessage } from "./gen/content_pb.js";

/** Message fields of these kinds, with the names the spec uses. */
export const MORE_KINDS = [
  ["contactMessage", "contact_message"],
  ["locationMessage", "location_message"],
  ["contactsArrayMessage", "contacts_array_message"],
  ["liveLocationMessage", "live_location_message"],
  ["stickerMessage", "sticker_message"],
  ["pollCreationMessage", "poll_creation_message"],
  ["pollUpdateMessage", "poll_update_message"],
  ["pollCreationMessageV2", "poll_creation_message_v2"],
  ["pinInChatMessage", "pin_in_chat_message"],
  ["pollCreationMessageV3", "poll_creation_message_v3"],
  ["ptvMessage", "ptv_message"],
] as const satisfies readonly (readonly [keyof Message, string])[];

export type MoreKind = "sticker" | "video_note" | "location" | "live_location" | "contact" | "contacts" | "poll" | "poll_vote" | "pin";

/** A poll has at most this many options (WhatsApp allows 12). */
export const MAX_POLL_OPTIONS = 32;
export const MAX_CONTACTS = 256;

export function moreKindOf(m: Message): MoreKind | undefined {
  if (m.stickerMessage) return "sticker";
  if (m.ptvMessage) return "video_note";
  if (m.locationMessage) return "location";
  if (m.liveLocationMessage) return "live_location";
  if (m.contactMessage) return "contact";
  if (m.contactsArrayMessage) return "contacts";
  if (pollOf(m)) return "poll";
  if (m.pollUpdateMessage) return "poll_vote";
  if (m.pinInChatMessage) return "pin";
  return undefined;
}

/** The poll of a message, whichever of WhatsApp's three poll fields carries it. */
export function pollOf(m: Message): PollCreationMessage | undefined {
  return m.pollCreationMessage ?? m.pollCreationMessageV2 ?? m.pollCreationMessageV3;
}

type Check = {
  media(part: StickerMessage, path: string): void;
  key(key: PinInChatMessage["key"], path: string): void;
};

/** Checks the kinds above; `check` lends content.ts's own checks of media parts and keys. */
export function validateMoreKinds(m: Message, path: string, check: Check): void {
  if (m.stickerMessage) check.media(m.stickerMessage, `${path}.sticker_message`);
  if (m.locationMessage) checkCoordinates(m.locationMessage, `${path}.location_message`);
  if (m.liveLocationMessage) checkCoordinates(m.liveLocationMessage, `${path}.live_location_message`);
  if (m.contactMessage) checkContact(m.contactMessage, `${path}.contact_message`);
  if (m.contactsArrayMessage) {
    const at = `${path}.contacts_array_message.contacts`;
    const contacts = m.contactsArrayMessage.contacts;
    if (contacts.length === 0 || contacts.length > MAX_CONTACTS) throw invalidField(at, `lists 1..${MAX_CONTACTS} contacts, got ${contacts.length}`);
    contacts.forEach((c, i) => checkContact(c, `${at}[${i}]`));
  }
  const poll = pollOf(m);
  if (poll) {
    const at = `${path}.poll_creation_message`;
    if (poll.name.trim().length === 0) throw invalidField(`${at}.name`, "a poll needs a question");
    if (poll.options.length < 1 || poll.options.length > MAX_POLL_OPTIONS) throw invalidField(`${at}.options`, `a poll has 1..${MAX_POLL_OPTIONS} options, got ${poll.options.length}`);
    poll.options.forEach((o, i) => {
      if (o.optionName.trim().length === 0) throw invalidField(`${at}.options[${i}].option_name`, "must not be empty");
    });
    if (poll.encKey.length > 0) checkByteLength(poll.encKey, 32, `${at}.enc_key`);
  }
  const vote = m.pollUpdateMessage;
  if (vote) {
    const at = `${path}.poll_update_message`;
    check.key(vote.pollCreationMessageKey, `${at}.poll_creation_message_key`);
    if (!vote.vote) throw invalidField(`${at}.vote`, "a vote needs its sealed value");
    checkByteLength(vote.vote.encIv, 12, `${at}.vote.enc_iv`);
    if (vote.vote.encPayload.length < 16) throw invalidField(`${at}.vote.enc_payload`, "is shorter than its authentication tag (16 bytes)");
  }
  const secret = m.messageContextInfo?.messageSecret;
  if (secret && secret.length > 0) checkByteLength(secret, 32, `${path}.message_context_info.message_secret`);
  if (m.pinInChatMessage) check.key(m.pinInChatMessage.key, `${path}.pin_in_chat_message.key`);
}

function checkCoordinates(l: LocationMessage | LiveLocationMessage, path: string): void {
  if (!Number.isFinite(l.degreesLatitude) || Math.abs(l.degreesLatitude) > 90) throw invalidField(`${path}.degrees_latitude`, `is no latitude: ${l.degreesLatitude}`);
  if (!Number.isFinite(l.degreesLongitude) || Math.abs(l.degreesLongitude) > 180) throw invalidField(`${path}.degrees_longitude`, `is no longitude: ${l.degreesLongitude}`);
}

function checkContact(c: ContactMessage, path: string): void {
  if (c.vcard.trim().length === 0 && c.displayName.trim().length === 0) throw invalidField(path, "a contact card needs a vCard or a name");
}
