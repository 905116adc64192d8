// The kinds a simulated user can send besides text, media and the protocol messages of compose.ts: locations,
// contact cards, polls and pins, and the decorations of a text (mentions, forwarded, link preview), built as
// WhatsApp's clients build them.
import { create } from "@bufbuild/protobuf";
import { z } from "zod";
import { validateContent, type Content } from "../../protocol/content.js";
import { ContentSchema, PinInChatMessage_Type } from "../../protocol/gen/content_pb.js";
import { isValidUri } from "../../protocol/uri.js";
import { newPollSecret } from "../../protocol/poll-vote-crypto.js";

export const locationSchema = z
  .object({
    latitude: z.number().min(-90).max(90),
    longitude: z.number().min(-180).max(180),
    name: z.string().min(1).max(1000).optional(),
    address: z.string().min(1).max(1000).optional(),
    /** A live location update (liveLocationMessage) instead of a place. */
    live: z.boolean().optional(),
    accuracy: z.int().min(0).max(100_000).optional(),
  })
  .strict();

export const contactSchema = z.object({ name: z.string().min(1).max(1000), vcard: z.string().min(1).max(65536) }).strict();

export const pollSchema = z
  .object({
    question: z.string().min(1).max(1000),
    options: z.array(z.string().min(1).max(200)).min(1).max(12),
    /** How many options a voter may pick; 0: any number. */
    maxSelections: z.int().min(0).max(12).optional(),
  })
  .strict();

export const textExtrasSchema = {
  /** URIs of users the text mentions (written "@<digits>" in the text, as WhatsApp does). */
  mentions: z.array(z.string().refine(isValidUri, "must be an interop URI")).min(1).max(64).optional(),
  forwarded: z.boolean().optional(),
  /** A link preview as the sender's app makes it. */
  preview: z.object({ url: z.string().min(1).max(2048), title: z.string().max(1000).optional(), description: z.string().max(4000).optional() }).strict().optional(),
};

type Quote = { stanzaId: string; participant: string } | undefined;

export function locationContent(l: z.infer<typeof locationSchema>, quote: Quote): Content {
  const ctx = quote ? { contextInfo: quote } : {};
  if (l.live) {
    return validateContent(create(ContentSchema, { message: { liveLocationMessage: { degreesLatitude: l.latitude, degreesLongitude: l.longitude, accuracyInMeters: l.accuracy ?? 0, sequenceNumber: 1n, ...ctx } } }));
  }
  return validateContent(
    create(ContentSchema, { message: { locationMessage: { degreesLatitude: l.latitude, degreesLongitude: l.longitude, name: l.name ?? "", address: l.address ?? "", accuracyInMeters: l.accuracy ?? 0, ...ctx } } }),
  );
}

export function contactContent(cards: z.infer<typeof contactSchema>[]): Content {
  if (cards.length === 1) return validateContent(create(ContentSchema, { message: { contactMessage: { displayName: cards[0]!.name, vcard: cards[0]!.vcard } } }));
  return validateContent(
    create(ContentSchema, { message: { contactsArrayMessage: { displayName: `${cards.length} contacts`, contacts: cards.map((c) => ({ displayName: c.name, vcard: c.vcard })) } } }),
  );
}

export function pollContent(p: z.infer<typeof pollSchema>): Content {
  return validateContent(
    create(ContentSchema, {
      message: {
        pollCreationMessageV3: {
          name: p.question,
          options: p.options.map((optionName) => ({ optionName })),
          selectableOptionsCount: p.maxSelections ?? 1,
        },
        // As WhatsApp's apps send it: the secret its votes are sealed with, beside the poll.
        messageContextInfo: { messageSecret: newPollSecret() },
      },
    }),
  );
}

export function pinContent(target: { id: string; remoteJid: string; fromMe: boolean }, pinned: boolean, nowMs: bigint): Content {
  return validateContent(
    create(ContentSchema, {
      message: { pinInChatMessage: { key: target, type: pinned ? PinInChatMessage_Type.PIN_FOR_ALL : PinInChatMessage_Type.UNPIN_FOR_ALL, senderTimestampMs: nowMs } },
    }),
  );
}

/** A text with mentions, a forwarded flag or a preview: WhatsApp's extended text, which carries them. */
export function decoratedTextContent(text: string, quote: Quote, extras: { mentions?: string[] | undefined; forwarded?: boolean | undefined; preview?: { url: string; title?: string | undefined; description?: string | undefined } | undefined }): Content {
  const contextInfo = {
    ...(quote ?? {}),
    ...(extras.mentions ? { mentionedJid: extras.mentions } : {}),
    ...(extras.forwarded ? { isForwarded: true, forwardingScore: 1 } : {}),
  };
  const p = extras.preview;
  return validateContent(
    create(ContentSchema, {
      message: { extendedTextMessage: { text, ...(p ? { matchedText: p.url, title: p.title ?? "", description: p.description ?? "" } : {}), contextInfo } },
    }),
  );
}

/** The wrappers WhatsApp's apps put around a message, which a bridge has to open (or, for view-once, refuse). */
export const wrapSchema = z.enum(["view_once", "edited", "document_with_caption"]);
export type Wrap = z.infer<typeof wrapSchema>;

/** The message of `content` inside viewOnceMessage, editedMessage or documentWithCaptionMessage (FutureProofMessage). */
export function wrapContent(content: Content, wrap: Wrap): Content {
  const inner = create(ContentSchema, content).message;
  if (!inner) throw new Error("wrapContent: only a message can be wrapped");
  const field = wrap === "view_once" ? "viewOnceMessage" : wrap === "edited" ? "editedMessage" : "documentWithCaptionMessage";
  return validateContent(create(ContentSchema, { message: { [field]: { message: inner } } }));
}
