// Blocking and reporting contacts. Blocks are kept by the network (the gatekeeper refuses a blocked contact's
// messages, and the contact is told they were not delivered); reports name the messages that show why.
import type { CoreContext } from "../context.js";
import { notices } from "../notices.js";
import { InputError, REPORT_REASONS, type ReportReasonName } from "../ports.js";
import type { CommandCall, CommandDef } from "./command.js";

/** Messages a report names when the user gives no count, as WhatsApp does. */
export const DEFAULT_REPORTED_MESSAGES = 5;
export const MAX_REPORTED_MESSAGES = 50;

/** The contact a block command is about: the number given, or the portal's contact. */
function contactOf(call: CommandCall): string | undefined {
  const { ctx, args, portal } = call;
  if (!args) return portal?.remoteUri;
  return ctx.remote.ids.parse(args, ctx.config.bridge.default_country ?? undefined);
}

async function changeBlock(call: CommandCall, blocking: boolean): Promise<void> {
  const { ctx, userId, reply } = call;
  const safety = ctx.remote.safety;
  if (!safety) return reply(notices.noSafety(ctx.network));
  let contact: string | undefined;
  try {
    contact = contactOf(call);
  } catch (err) {
    if (err instanceof InputError) return reply(err.message);
    throw err;
  }
  const name = blocking ? "block" : "unblock";
  if (!contact) return reply(notices.usage(`${name} <${ctx.remote.phrases.contactNoun}>`, `${name} ${ctx.remote.phrases.contactExample}`));
  try {
    if (blocking) await safety.block(userId, contact);
    else await safety.unblock(userId, contact);
  } catch (err) {
    return reply(notices.warning(ctx.explain(err, contact)));
  }
  // Blocking answers an open message request too: its messages are dropped.
  if (blocking) await ctx.store.requests.remove(userId, contact);
  const who = ctx.label(contact);
  ctx.log.info({ blocked: blocking }, blocking ? "the user blocked a contact" : "the user unblocked a contact");
  const text = blocking ? notices.youBlocked(who, ctx.network, ctx.remote.phrases.commandPrefix) : notices.youUnblocked(who);
  // The portal says so too, wherever the command was sent.
  const portalRoom = (await ctx.store.portals.get(userId, contact))?.roomId;
  if (portalRoom && portalRoom !== call.roomId) await ctx.noticeAsPuppet(contact, portalRoom, text, `${name}-${call.eventId}`);
  return reply(text);
}

export const blockCommand: CommandDef = {
  name: "block",
  argument: (ctx) => ({ usage: `<${ctx.remote.phrases.contactNoun}>`, example: ctx.remote.phrases.contactExample, required: false }),
  summary: (ctx) => `stop a ${ctx.network} user's messages to you (in a chat: that chat's contact)`,
  level: "user",
  place: "both",
  run: (call) => changeBlock(call, true),
};

export const unblockCommand: CommandDef = {
  name: "unblock",
  argument: (ctx) => ({ usage: `<${ctx.remote.phrases.contactNoun}>`, example: ctx.remote.phrases.contactExample, required: false }),
  summary: () => "let a blocked user write to you again",
  level: "user",
  place: "both",
  run: (call) => changeBlock(call, false),
};

export const blockedCommand: CommandDef = {
  name: "blocked",
  summary: () => "the users you blocked",
  level: "user",
  async run({ ctx, userId, reply }) {
    const safety = ctx.remote.safety;
    if (!safety) return reply(notices.noSafety(ctx.network));
    let blocked: string[];
    try {
      blocked = await safety.blocked(userId);
    } catch (err) {
      return reply(notices.warning(ctx.explain(err, "")));
    }
    return reply(blocked.length === 0 ? notices.noneBlocked() : notices.blockedList(blocked.map((c) => ctx.label(c))));
  },
};

/** "[count] [reason]" in either order; throws InputError saying what is wrong. */
export function parseReportArgs(args: string): { count: number; reason: ReportReasonName } {
  let count = DEFAULT_REPORTED_MESSAGES;
  let reason: ReportReasonName = "spam";
  for (const word of args.split(/\s+/).filter(Boolean)) {
    if (/^\d+$/.test(word)) {
      count = Number(word);
      if (count < 0 || count > MAX_REPORTED_MESSAGES) throw new InputError(`the number of messages to report must be 0 to ${MAX_REPORTED_MESSAGES}`);
    } else if ((REPORT_REASONS as readonly string[]).includes(word.toLowerCase())) {
      reason = word.toLowerCase() as ReportReasonName;
    } else {
      throw new InputError(`"${word}" is neither a number of messages nor a reason (${REPORT_REASONS.join(", ")})`);
    }
  }
  return { count, reason };
}

/** The contact's last `count` messages in the portal, and the one the command replies to, newest first. */
async function reportedMessages(ctx: CoreContext, call: CommandCall, count: number): Promise<string[]> {
  const portal = call.portal!;
  const ids = count > 0 ? (await ctx.store.messages.upTo(portal.roomId!, "in", Date.now(), count)).map((m) => m.messageId) : [];
  const relates = (call.content?.["m.relates_to"] ?? {}) as { "m.in_reply_to"?: { event_id?: unknown } };
  const replyTo = relates["m.in_reply_to"]?.event_id;
  const target = typeof replyTo === "string" ? await ctx.store.messages.byEventId(portal.roomId!, replyTo) : undefined;
  if (target && target.direction === "in" && !ids.includes(target.messageId)) ids.unshift(target.messageId);
  return ids;
}

export const reportCommand: CommandDef = {
  name: "report",
  argument: () => ({ usage: `[<count>] [${REPORT_REASONS.join("|")}]`, example: "5 spam", required: false }),
  summary: (ctx) =>
    `report the contact to ${ctx.network}, with their last ${DEFAULT_REPORTED_MESSAGES} messages (or <count>; as a reply: that message too); the reason defaults to spam`,
  level: "user",
  place: "portal",
  async run(call) {
    const { ctx, portal, args, reply } = call;
    const safety = ctx.remote.safety;
    if (!safety || !portal) return reply(notices.noSafety(ctx.network));
    let parsed;
    try {
      parsed = parseReportArgs(args);
    } catch (err) {
      if (err instanceof InputError) return reply(err.message);
      throw err;
    }
    const ids = await reportedMessages(ctx, call, parsed.count);
    const who = ctx.label(portal.remoteUri);
    let ref: string;
    try {
      ref = await safety.report(portal.matrixUser, portal.remoteUri, ids, parsed.reason);
    } catch (err) {
      return reply(notices.warning(ctx.explain(err, portal.remoteUri)));
    }
    ctx.log.info({ messages: ids.length, reason: parsed.reason, report: ref }, "the user reported a contact");
    return reply(notices.reported(who, ctx.network, ids.length, ref, ctx.remote.phrases.commandPrefix));
  },
};
