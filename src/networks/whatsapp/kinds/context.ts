// What WhatsApp's ContextInfo says about a message besides a quote: whom the text mentions and whether it was
// forwarded; and the link preview an extended text carries.
import type { LinkPreview, MessageContext } from "../../../core/events.js";
import type { ContextInfo, ExtendedTextMessage } from "../../../protocol/gen/content_pb.js";

export function contextOf(info: ContextInfo | undefined): MessageContext {
  if (!info) return {};
  return {
    ...(info.mentionedJid.length > 0 ? { mentions: [...info.mentionedJid] } : {}),
    ...(info.isForwarded || info.forwardingScore > 0 ? { forwarded: true } : {}),
  };
}

/** The preview the sender's app attached, if it names the URL it is for. */
export function previewOf(ext: ExtendedTextMessage): LinkPreview | undefined {
  if (!ext.matchedText) return undefined;
  return { url: ext.matchedText, ...(ext.title ? { title: ext.title } : {}), ...(ext.description ? { description: ext.description } : {}) };
}

/** An outgoing preview, in WhatsApp's fields of the extended text. */
export function previewFields(preview: LinkPreview | undefined): Partial<Pick<ExtendedTextMessage, "matchedText" | "title" | "description">> {
  if (!preview) return {};
  return { matchedText: preview.url, ...(preview.title ? { title: preview.title } : {}), ...(preview.description ? { description: preview.description } : {}) };
}
