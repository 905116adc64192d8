// What a Matrix message says besides its text, for the network: whom it mentions (m.mentions, and the pills in its
// HTML written as the network writes a mention) and the link preview the user's client attached
// (com.beeper.linkpreviews; the bridge never fetches a URL itself).
import { isPuppetUserId } from "../../config/identities.js";
import type { CoreContext } from "../context.js";
import type { LinkPreview } from "../events.js";
import type { MatrixText } from "../ports.js";

/** The network users a Matrix message mentions: contacts behind puppets, and the Matrix user themself. */
export function mentionedUsers(ctx: CoreContext, matrixUser: string, content: Record<string, unknown>): Map<string, string> {
  const ids = (content["m.mentions"] as { user_ids?: unknown } | undefined)?.user_ids;
  const out = new Map<string, string>();
  if (!Array.isArray(ids)) return out;
  for (const id of ids) {
    if (typeof id !== "string") continue;
    const key = isPuppetUserId(ctx.config, id);
    const contact = key === null ? null : ctx.remote.ids.fromPuppetKey(key);
    if (contact) out.set(id, contact);
    else if (id === matrixUser) out.set(id, ctx.remote.ids.localUser(matrixUser));
  }
  return out;
}

/** Pills of mentioned users (links to matrix.to) become the network's mention text before the dialect converts. */
export function withMentionText(ctx: CoreContext, text: MatrixText, mentioned: Map<string, string>): MatrixText {
  if (mentioned.size === 0 || text.formatted_body === undefined) return text;
  const html = text.formatted_body.replace(/<a\s+href="https:\/\/matrix\.to\/#\/([^"?]+)[^"]*"[^>]*>[\s\S]*?<\/a>/gi, (pill, target: string) => {
    const user = mentioned.get(decodeURIComponent(target));
    const token = user === undefined ? undefined : ctx.remote.text.mentionText?.(user);
    return token ?? pill;
  });
  return { ...text, formatted_body: html };
}

/** The first preview whose URL is in the text: the one the text's link shows. */
export function previewOf(content: Record<string, unknown>, body: string): LinkPreview | undefined {
  const list = content["com.beeper.linkpreviews"];
  if (!Array.isArray(list)) return undefined;
  for (const p of list as Record<string, unknown>[]) {
    const url = typeof p?.matched_url === "string" ? p.matched_url : typeof p?.["og:url"] === "string" ? (p["og:url"] as string) : undefined;
    if (!url || !body.includes(url)) continue;
    const title = typeof p["og:title"] === "string" ? p["og:title"] : undefined;
    const description = typeof p["og:description"] === "string" ? p["og:description"] : undefined;
    return { url, ...(title ? { title } : {}), ...(description ? { description } : {}) };
  }
  return undefined;
}
