// Matrix text messages (m.text, m.notice, m.emote), replies to bridged messages, and edits of the user's own.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import type { MatrixText } from "../ports.js";
import { quotedByMatrixReply } from "../quotable.js";
import { mentionedUsers, previewOf, withMentionText } from "./decorations.js";
import { queueForRemote, refOf, refuse } from "./queue.js";

type Relation = { rel_type?: unknown; event_id?: unknown; "m.in_reply_to"?: { event_id?: unknown } };

const TEXT_TYPES = new Set(["m.text", "m.notice", "m.emote"]);
const UNBRIDGED_NAMES: Record<string, string> = {
  "m.image": "images",
  "m.video": "videos",
  "m.audio": "audio messages",
  "m.file": "files",
};

export function relationOf(content: Record<string, unknown>): Relation {
  return (content["m.relates_to"] ?? {}) as Relation;
}

function textOf(content: Record<string, unknown>): MatrixText {
  const t: MatrixText = { body: typeof content.body === "string" ? content.body : "" };
  if (typeof content.format === "string" && typeof content.formatted_body === "string") {
    t.format = content.format;
    t.formatted_body = content.formatted_body;
  }
  return t;
}

export async function textToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const relates = relationOf(ev.content);
  if (relates.rel_type === "m.replace") return editToRemote(ctx, portal, ev, relates);
  const msgtype = typeof ev.content.msgtype === "string" ? ev.content.msgtype : "";
  if (!TEXT_TYPES.has(msgtype)) {
    const what = UNBRIDGED_NAMES[msgtype] ?? `"${msgtype || "untyped"}" messages`;
    return refuse(ctx, portal, ev, `${what} are not bridged yet`);
  }
  if (typeof ev.content.body !== "string" || ev.content.body.trim() === "") return refuse(ctx, portal, ev, "the message is empty");
  const target = await quotedByMatrixReply(ctx, ev.room_id, relates["m.in_reply_to"]?.event_id);
  // A reply to something that never crossed the bridge is sent as plain text rather than refused.
  const mentioned = mentionedUsers(ctx, portal.matrixUser, ev.content);
  const text = ctx.remote.text.fromMatrix(withMentionText(ctx, textOf(ev.content), mentioned));
  const preview = previewOf(ev.content, text);
  const mentions = [...new Set(mentioned.values())];
  await queueForRemote(ctx, portal, ev, {
    event: { kind: "message", text, emote: msgtype === "m.emote", ...(target ? { replyTo: refOf(target) } : {}), ...(mentions.length ? { mentions } : {}), ...(preview ? { preview } : {}) },
    mapAsMessage: true,
  });
}

async function editToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, relates: Relation): Promise<void> {
  const target = typeof relates.event_id === "string" ? await ctx.store.messages.byEventId(ev.room_id, relates.event_id) : undefined;
  if (!target) return refuse(ctx, portal, ev, "the edited message was never bridged, so the edit cannot be sent");
  if (target.direction !== "out") return refuse(ctx, portal, ev, "only your own messages can be edited");
  if (await ctx.store.pollVotes.get(target.matrixUser, target.remoteUri, target.messageId)) return refuse(ctx, portal, ev, "a vote cannot be edited; vote again to change it");
  const replacement = (ev.content["m.new_content"] ?? ev.content) as Record<string, unknown>;
  if (typeof replacement.body !== "string" || replacement.body.trim() === "") return refuse(ctx, portal, ev, "the edited text is empty");
  await queueForRemote(ctx, portal, ev, { event: { kind: "edit", target: refOf(target), text: ctx.remote.text.fromMatrix(textOf(replacement)) } });
}
