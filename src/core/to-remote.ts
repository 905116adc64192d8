// Matrix event -> interop content.
import { create } from "@bufbuild/protobuf";
import { ContentSchema, type Content } from "../protocol/gen/content_pb.js";

export type ToRemoteResult = { ok: true; content: Content } | { ok: false; reason: string };

/** Strips a rich-reply fallback ("> <@user> quoted\n\n") that older clients put in front of the body. */
export function stripReplyFallback(body: string): string {
  const lines = body.split("\n");
  let i = 0;
  while (i < lines.length && lines[i]!.startsWith("> ")) i++;
  if (i === 0) return body;
  if (lines[i] === "") i++;
  return lines.slice(i).join("\n");
}

export function matrixMessageToContent(content: Record<string, unknown>): ToRemoteResult {
  const msgtype = content.msgtype;
  const body = typeof content.body === "string" ? content.body : undefined;
  if (body === undefined) return { ok: false, reason: "the message has no text body" };
  const relates = content["m.relates_to"] as Record<string, unknown> | undefined;
  const isReply = !!(relates && typeof relates["m.in_reply_to"] === "object");
  const text = isReply ? stripReplyFallback(body) : body;
  switch (msgtype) {
    case "m.text":
    case "m.notice":
      return { ok: true, content: create(ContentSchema, { message: { conversation: text } }) };
    case "m.emote":
      // WhatsApp has no emotes; "/me" is the convention its users recognise.
      return { ok: true, content: create(ContentSchema, { message: { conversation: `/me ${text}` } }) };
    default:
      return { ok: false, reason: `${String(msgtype)} messages are not bridged yet` };
  }
}
