// What a message says besides its text, on the Matrix side: mentions as m.mentions and pills, the forwarded mark,
// and the sender's link preview as com.beeper.linkpreviews (as mautrix bridges and Beeper's clients show it; the
// bridge never fetches the page itself).
import type { LinkPreview, MessageContext } from "../events.js";
import type { MatrixContent } from "../ports.js";
import type { IncomingCall } from "./call.js";

export const FORWARDED_MARK = "↪️ Forwarded";

export function decorate(call: IncomingCall, content: MatrixContent, ev: MessageContext & { preview?: LinkPreview }): MatrixContent {
  let out = content;
  if (ev.mentions?.length) out = withMentions(call, out, ev.mentions);
  if (ev.forwarded) out = withPrefix(out, FORWARDED_MARK);
  if (ev.preview) out = { ...out, "com.beeper.linkpreviews": [linkPreview(ev.preview)] };
  return out;
}

function linkPreview(p: LinkPreview): Record<string, unknown> {
  return { matched_url: p.url, "og:url": p.url, ...(p.title ? { "og:title": p.title } : {}), ...(p.description ? { "og:description": p.description } : {}) };
}

/** The Matrix user a mentioned network user stands for: the contact's puppet, or the bridge's own user. */
function matrixUserOf(call: IncomingCall, user: string): string | undefined {
  const { ctx, entry } = call;
  if (ctx.remote.ids.isContact(user)) return ctx.puppetOf(user);
  if (user === ctx.remote.ids.localUser(entry.matrixUser)) return entry.matrixUser;
  return undefined;
}

function withMentions(call: IncomingCall, content: MatrixContent, mentions: string[]): MatrixContent {
  const ids: string[] = [];
  const body = String(content.body ?? "");
  let html = typeof content.formatted_body === "string" ? content.formatted_body : escapeHtml(body).replace(/\n/g, "<br>");
  let pills = 0;
  for (const user of mentions) {
    const userId = matrixUserOf(call, user);
    if (!userId) continue;
    if (!ids.includes(userId)) ids.push(userId);
    const token = call.ctx.remote.text.mentionText?.(user);
    if (!token || !html.includes(escapeHtml(token))) continue;
    const name = user === call.ctx.remote.ids.localUser(call.entry.matrixUser) ? userId : call.ctx.label(user);
    html = html.split(escapeHtml(token)).join(`<a href="https://matrix.to/#/${encodeURIComponent(userId).replace(/%40/g, "@").replace(/%3A/g, ":")}">${escapeHtml(name)}</a>`);
    pills++;
  }
  if (ids.length === 0) return content;
  return { ...content, ...(pills > 0 ? { format: "org.matrix.custom.html", formatted_body: html } : {}), "m.mentions": { user_ids: ids } };
}

function withPrefix(content: MatrixContent, prefix: string): MatrixContent {
  const out: MatrixContent = { ...content, body: `${prefix}\n${String(content.body ?? "")}` };
  if (typeof content.formatted_body === "string") out.formatted_body = `<em>${escapeHtml(prefix)}</em><br>${content.formatted_body}`;
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
