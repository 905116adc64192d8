// Message requests: a first message from a number the user never chatted with does not open a portal. It waits,
// with whatever else that number sends (up to a cap), as a request in the user's management room: who it is, a
// preview with its links defanged, and how to answer — accept (the portal opens and the held messages follow in
// order), block (the network refuses the number from then on; the held messages are dropped) or ignore. Requests
// expire. Everything held is in the store, so a restart loses nothing.
import type { InboxEntry } from "../store/inbox.js";
import type { MessageRequest } from "../store/message-requests.js";
import type { CoreContext } from "./context.js";
import type { RemoteEvent } from "./events.js";
import { notices } from "./notices.js";
import { ensurePortal } from "./portals.js";
import { rememberContact } from "./reachability.js";

const PREVIEW_LENGTH = 200;

/** Reactions on a request notice that answer it, as a shortcut for the commands. */
export const REQUEST_REACTIONS: Readonly<Record<string, RequestAnswer>> = {
  "✅": "accept",
  "👍": "accept",
  "🚫": "block",
  "⛔": "block",
  "🗑️": "ignore",
  "🗑": "ignore",
  "❌": "ignore",
};

export type RequestAnswer = "accept" | "block" | "ignore";

export async function requestsEnabled(ctx: CoreContext, userId: string): Promise<boolean> {
  return (await ctx.store.requests.enabledFor(userId)) ?? ctx.config.bridge.message_requests === "on";
}

/**
 * Whether this entry is held as a request instead of opening a portal: the user takes requests, has a management room
 * to show them in, and has never chatted with the number (no portal, ever), or a request of it is open already.
 */
export async function shouldHold(ctx: CoreContext, entry: InboxEntry): Promise<boolean> {
  if (await ctx.store.portals.get(entry.matrixUser, entry.remoteUri)) return false;
  if (await ctx.store.requests.get(entry.matrixUser, entry.remoteUri)) return true;
  if (!(await requestsEnabled(ctx, entry.matrixUser))) return false;
  return (await ctx.store.users.get(entry.matrixUser))?.managementRoom != null;
}

/** Replaces what makes a link clickable (scheme, dots of the host) so that a preview cannot be followed by a tap. */
export function defang(text: string): string {
  return text
    .replace(/\b(h)(tt)(ps?):\/\//gi, (_m, h: string, _tt: string, s: string) => `${h}xx${s}[://]`)
    .replace(/\bwww\./gi, "www[.]")
    .replace(/([a-z0-9-])\.(?=[a-z0-9-])/gi, "$1[.]");
}

function preview(ev: RemoteEvent): string {
  const text = ev.kind === "message" ? ev.text : ev.kind === "media" ? `(${ev.what})` : ev.kind === "unsupported" ? `(${ev.what})` : `(${ev.kind})`;
  const cut = text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH)}…` : text;
  return defang(cut);
}

/** Holds the entry; the first one of a request also posts the request notice. */
export async function holdAsRequest(ctx: CoreContext, entry: InboxEntry, ev: RemoteEvent): Promise<void> {
  const expiresAt = Date.now() + ctx.config.bridge.message_request_expiry_hours * 3_600_000;
  const result = await ctx.store.requests.hold(entry, ctx.config.bridge.message_request_max_held, expiresAt);
  if (result === "over_cap") ctx.log.warn({ messageId: entry.messageId }, "a message request holds as many messages as allowed; not keeping another");
  const request = await ctx.store.requests.get(entry.matrixUser, entry.remoteUri);
  // Also when an earlier attempt held the message but crashed before the notice: the txnId keeps it to one.
  if (request && request.noticeEventId === null) await postRequestNotice(ctx, request, ev, entry.messageId);
}

async function postRequestNotice(ctx: CoreContext, request: MessageRequest, ev: RemoteEvent, firstMessageId: string): Promise<void> {
  const user = await ctx.store.users.get(request.matrixUser);
  const room = user?.managementRoom;
  if (!room) return;
  const profile = await ctx.remote.lookup(request.matrixUser, request.contact).catch(() => undefined);
  const prefix = ctx.remote.phrases.commandPrefix;
  const number = ctx.remote.ids.label(request.contact);
  const body = notices.messageRequest(number, profile?.name, ctx.network, preview(ev), prefix, new Date(request.expiresAt).toISOString().slice(0, 10));
  const eventId = await ctx.matrix.sendEvent(ctx.matrix.botUserId, room, "m.room.message", { msgtype: "m.notice", body }, `req-${firstMessageId}`);
  await ctx.store.requests.setNotice(request.matrixUser, request.contact, eventId);
  ctx.log.info("a first message from an unknown number is held as a message request");
}

/** Answers a request; returns false when there is none for the number. */
export async function answerRequest(ctx: CoreContext, userId: string, contact: string, answer: RequestAnswer, deliver: (entry: InboxEntry) => Promise<void>): Promise<boolean> {
  const request = await ctx.store.requests.get(userId, contact);
  if (!request) return false;
  if (answer === "block") await ctx.remote.safety?.block(userId, contact);
  if (answer === "accept") {
    const profile = await ctx.remote.lookup(userId, contact).catch(() => undefined);
    await ensurePortal(ctx, userId, contact, profile);
    await rememberContact(ctx, userId, contact, "accepted");
    // In order, each removed once posted: a crash in between resumes with the rest (the posts are idempotent).
    for (const held of await ctx.store.requests.messages(userId, contact)) {
      await deliver({ ...held, seq: 0, attempts: 0, notBefore: 0 });
      await ctx.store.requests.removeMessage(held.seq);
    }
  }
  await ctx.store.requests.remove(userId, contact);
  ctx.log.info({ answer, held: request.held, notKept: request.overCap }, "the user answered a message request");
  return true;
}

/** Requests past their expiry are closed, with a word to the user. */
export async function expireRequests(ctx: CoreContext, now = Date.now()): Promise<number> {
  const expired = await ctx.store.requests.expired(now);
  for (const request of expired) {
    await ctx.store.requests.remove(request.matrixUser, request.contact);
    const room = (await ctx.store.users.get(request.matrixUser))?.managementRoom;
    if (room) {
      await ctx
        .notice(ctx.matrix.botUserId, room, notices.requestExpired(ctx.label(request.contact), request.held), `reqexp-${request.firstAt}-${ctx.remote.ids.puppetKey(request.contact)}`)
        .catch((err) => ctx.log.warn({ err }, "could not tell the user a message request expired"));
    }
  }
  if (expired.length > 0) ctx.log.info({ expired: expired.length }, "message requests expired");
  return expired.length;
}
