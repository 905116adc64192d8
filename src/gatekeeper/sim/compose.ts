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
import { isMessageIdString } from "../../protocol/message-id.js";

const messageId = z.string().refine(isMessageIdString, "a message ID is 32 uppercase hex digits");

export const sendRequestSchema = z
  .object({
    /** matrix: URI of the recipient. */
    to: z.string().min(1),
    /** Sending device; the user's lowest device when absent. */
    device: z.int().min(1).max(127).optional(),
    text: z.string().min(1).max(65536).optional(),
    /** With `text`: reply to this message. */
    replyTo: messageId.optional(),
    /** Empty emoji removes an earlier reaction. */
    react: z.object({ id: messageId, emoji: z.string().max(64) }).strict().optional(),
    edit: z.object({ id: messageId, text: z.string().min(1).max(65536) }).strict().optional(),
    revoke: messageId.optional(),
    read: z.array(messageId).min(1).max(1024).optional(),
    typing: z.enum(["composing", "recording", "paused"]).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const kinds = (["text", "react", "edit", "revoke", "read", "typing"] as const).filter((k) => r[k] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: "custom", message: `exactly one of text, react, edit, revoke, read, typing is needed, got ${kinds.length ? kinds.join(", ") : "none"}` });
    if (r.replyTo !== undefined && r.text === undefined) ctx.addIssue({ code: "custom", message: "replyTo goes with text" });
  });

export type SendRequest = z.infer<typeof sendRequestSchema>;

/** Answers "who wrote message `id` in the chat with `partner`?": the partner, or (when unknown) the user. */
export type AuthorLookup = (id: string) => "partner" | "me";

/** Builds the Content of a send request (media sending is a later step: the request schema has no media field). */
export function composeContent(req: SendRequest, ownUri: string, authorOf: AuthorLookup, now: bigint): Content {
  const ref = (id: string): MessageRef => ({ id, remoteJid: req.to, fromMe: authorOf(id) === "me" });
  if (req.text !== undefined) {
    if (req.replyTo === undefined) return textContent(req.text);
    return textContent(req.text, { stanzaId: req.replyTo, participant: authorOf(req.replyTo) === "me" ? ownUri : req.to });
  }
  if (req.react) return reactionContent(ref(req.react.id), req.react.emoji, now);
  if (req.edit) return editContent({ ...ref(req.edit.id), fromMe: true }, req.edit.text, now);
  if (req.revoke) return revokeContent({ ...ref(req.revoke), fromMe: true }, now);
  if (req.read) return receiptContent(ReceiptType.READ, req.read, now);
  if (req.typing) return chatStateContent(req.typing === "paused" ? ChatStateKind.PAUSED : ChatStateKind.COMPOSING, req.typing === "recording");
  throw new Error("unreachable: the schema requires one kind");
}
