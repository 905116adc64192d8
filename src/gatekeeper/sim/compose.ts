// What an operator or a test asks a simulated user to send, turned into interop Content.
import { z } from "zod";
import {
  ChatStateKind,
  ReceiptType,
  chatStateContent,
  editContent,
  reactionContent,
  receiptContent,
  revokeContent,
  textContent,
  type MessageRef,
} from "../../protocol/content-builders.js";
import type { Content } from "../../protocol/content.js";
import { disappearingTimerContent, withExpiration } from "../../protocol/content-ephemeral.js";
import { MAX_DISAPPEARING_SECONDS } from "../../protocol/limits.js";
import { isMessageRefString } from "../../protocol/message-id.js";
import { contactContent, contactSchema, decoratedTextContent, locationContent, locationSchema, pinContent, pollContent, pollSchema, textExtrasSchema, wrapContent, wrapSchema } from "./compose-kinds.js";
import { mediaContent, sendMediaSchema, type StoredMedia } from "./media.js";
import { voteSchema } from "./polls.js";

// Another network's IDs (WhatsApp's 3EB0...) are accepted too, so a test can refer to what such a client sent.
const messageId = z.string().refine(isMessageRefString, "a message ID is 32 uppercase hex digits (or another network's ID)");

export const sendRequestSchema = z
  .object({
    /** URI of the recipient: a matrix: user of a provider, or tel: for another simulated user. */
    to: z.string().min(1),
    /** Sending device; the user's lowest device when absent. */
    device: z.int().min(1).max(127).optional(),
    text: z.string().min(1).max(65536).optional(),
    /** A file to send (encrypted and stored on the media service first). */
    media: sendMediaSchema.optional(),
    /** With `text` or `media`: reply to this message. */
    replyTo: messageId.optional(),
    /** Empty emoji removes an earlier reaction. */
    react: z.object({ id: messageId, emoji: z.string().max(64) }).strict().optional(),
    edit: z.object({ id: messageId, text: z.string().min(1).max(65536) }).strict().optional(),
    revoke: messageId.optional(),
    read: z.array(messageId).min(1).max(1024).optional(),
    typing: z.enum(["composing", "recording", "paused"]).optional(),
    location: locationSchema.optional(),
    /** One contact card, or several. */
    contacts: z.array(contactSchema).min(1).max(20).optional(),
    poll: pollSchema.optional(),
    /** A vote in a poll the user created or received, sealed with its secret (sim/polls.ts builds it). */
    vote: voteSchema.optional(),
    pin: z.object({ id: messageId, pinned: z.boolean() }).strict().optional(),
    ...textExtrasSchema,
    /** Sets the chat's disappearing-messages timer (seconds; 0 turns it off), as WhatsApp's EPHEMERAL_SETTING. */
    disappearing: z.int().min(0).max(MAX_DISAPPEARING_SECONDS).optional(),
    /** With `text` or `media`: sent as in a chat with this disappearing timer (seconds), as WhatsApp wraps it. */
    expiresIn: z.int().min(1).max(MAX_DISAPPEARING_SECONDS).optional(),
    /** Sent inside one of WhatsApp's wrappers: view_once (an image or video), edited (a text, as some apps send a
     * message that was edited before it left), document_with_caption (a document). */
    wrap: wrapSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const all = ["text", "media", "react", "edit", "revoke", "read", "typing", "disappearing", "location", "contacts", "poll", "vote", "pin"] as const;
    const kinds = all.filter((k) => r[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: "custom", message: `exactly one of ${all.join(", ")} is needed, got ${kinds.length ? kinds.join(", ") : "none"}` });
    for (const extra of ["mentions", "forwarded", "preview"] as const) {
      if (r[extra] !== undefined && r.text === undefined) ctx.addIssue({ code: "custom", message: `${extra} goes with text` });
    }
    if (r.expiresIn !== undefined && r.text === undefined && r.media === undefined && r.location === undefined) ctx.addIssue({ code: "custom", message: "expiresIn goes with text, media or location" });
    if (r.wrap !== undefined && r.expiresIn !== undefined) ctx.addIssue({ code: "custom", message: "wrap and expiresIn do not go together" });
    if (r.wrap === "view_once" && r.media?.kind !== "image" && r.media?.kind !== "video") ctx.addIssue({ code: "custom", message: "wrap view_once goes with an image or video" });
    if (r.wrap === "document_with_caption" && r.media?.kind !== "document") ctx.addIssue({ code: "custom", message: "wrap document_with_caption goes with a document" });
    if (r.wrap === "edited" && r.text === undefined && r.media === undefined && r.edit === undefined) ctx.addIssue({ code: "custom", message: "wrap edited goes with text, media or edit" });
    if (r.replyTo !== undefined && r.text === undefined && r.media === undefined && r.location === undefined) ctx.addIssue({ code: "custom", message: "replyTo goes with text, media or location" });
  });

export type SendRequest = z.infer<typeof sendRequestSchema>;

/** Answers "who wrote message `id` in the chat with `partner`?": the partner, or (when unknown) the user. */
export type AuthorLookup = (id: string) => "partner" | "me";

/** Builds the Content of a send request; a media request needs its file `stored` on the media service first. */
export function composeContent(req: SendRequest, ownUri: string, authorOf: AuthorLookup, now: bigint, stored?: StoredMedia): Content {
  const content = composeUnwrapped(req, ownUri, authorOf, now, stored);
  return req.wrap ? wrapContent(content, req.wrap) : content;
}

function composeUnwrapped(req: SendRequest, ownUri: string, authorOf: AuthorLookup, now: bigint, stored?: StoredMedia): Content {
  const ref = (id: string): MessageRef => ({ id, remoteJid: req.to, fromMe: authorOf(id) === "me" });
  const quote = req.replyTo === undefined ? undefined : { stanzaId: req.replyTo, participant: authorOf(req.replyTo) === "me" ? ownUri : req.to };
  const timed = (c: Content) => (req.expiresIn ? withExpiration(c, req.expiresIn) : c);
  if (req.text !== undefined) {
    const decorated = req.mentions || req.forwarded || req.preview;
    return timed(decorated ? decoratedTextContent(req.text, quote, { mentions: req.mentions, forwarded: req.forwarded, preview: req.preview }) : textContent(req.text, quote));
  }
  if (req.location) return timed(locationContent(req.location, quote));
  if (req.contacts) return contactContent(req.contacts);
  if (req.poll) return pollContent(req.poll);
  if (req.pin) return pinContent(ref(req.pin.id), req.pin.pinned, now);
  if (req.media) {
    if (!stored) throw new Error("composeContent: the media file must be stored before the message is built");
    return timed(mediaContent(req.media, stored, quote));
  }
  if (req.disappearing !== undefined) return disappearingTimerContent(req.disappearing, Number(now));
  if (req.react) return reactionContent(ref(req.react.id), req.react.emoji, now);
  if (req.edit) return editContent({ ...ref(req.edit.id), fromMe: true }, req.edit.text, now);
  if (req.revoke) return revokeContent({ ...ref(req.revoke), fromMe: true }, now);
  if (req.read) return receiptContent(ReceiptType.READ, req.read, now);
  if (req.vote) throw new Error("composeContent: a vote is sealed by SimPolls.voteContent, which holds the poll's secret");
  if (req.typing) return chatStateContent(req.typing === "paused" ? ChatStateKind.PAUSED : ChatStateKind.COMPOSING, req.typing === "recording");
  throw new Error("unreachable: the schema requires one kind");
}
