// Answering message requests by command: list them (and switch them on or off for oneself), accept, ignore. Blocking
// is the block command, which also closes a request.
import type { CoreContext } from "../context.js";
import { notices } from "../notices.js";
import { InputError } from "../ports.js";
import { answerRequest, requestsEnabled, type RequestAnswer } from "../requests.js";
import { handleRemoteEntry } from "../incoming/index.js";
import type { CommandCall, CommandDef } from "./command.js";

/** Runs one answer and says what became of the request (used by the commands and by reactions on the notice). */
export async function answerAndTell(ctx: CoreContext, userId: string, contact: string, answer: RequestAnswer, reply: (text: string) => Promise<void>): Promise<void> {
  const who = ctx.label(contact);
  const request = await ctx.store.requests.get(userId, contact);
  if (!request) return reply(notices.noRequest(who));
  try {
    await answerRequest(ctx, userId, contact, answer, (entry) => handleRemoteEntry(ctx, entry));
  } catch (err) {
    return reply(notices.warning(ctx.explain(err, contact)));
  }
  if (answer === "accept") {
    const roomId = (await ctx.store.portals.get(userId, contact))?.roomId ?? "";
    return reply(notices.requestAccepted(who, request.held, request.overCap, roomId));
  }
  return reply(answer === "block" ? notices.requestBlocked(who, ctx.network) : notices.requestIgnored(who));
}

function contactArg(call: CommandCall): string | undefined {
  try {
    return call.ctx.remote.ids.parse(call.args, call.ctx.config.bridge.default_country ?? undefined);
  } catch (err) {
    if (err instanceof InputError) {
      void call.reply(err.message);
      return undefined;
    }
    throw err;
  }
}

function answerCommand(name: "accept" | "ignore", summary: string): CommandDef {
  return {
    name,
    argument: (ctx) => ({ usage: `<${ctx.remote.phrases.contactNoun}>`, example: ctx.remote.phrases.contactExample, required: true }),
    summary: () => summary,
    level: "user",
    async run(call) {
      const contact = contactArg(call);
      if (contact === undefined) return;
      return answerAndTell(call.ctx, call.userId, contact, name, call.reply);
    },
  };
}

export const acceptCommand = answerCommand("accept", "accept a message request: the chat opens with the messages it held");
export const ignoreCommand = answerCommand("ignore", "drop a message request and what it held");

export const requestsCommand: CommandDef = {
  name: "requests",
  argument: () => ({ usage: "[on|off]", example: "off", required: false }),
  summary: (ctx) => `your message requests (first messages from ${ctx.network} numbers you never chatted with); "on" or "off" for yourself`,
  level: "user",
  async run({ ctx, userId, args, reply }) {
    const word = args.trim().toLowerCase();
    if (word === "on" || word === "off") {
      await ctx.store.requests.setEnabledFor(userId, word === "on");
      return reply(notices.requestsSwitched(word === "on"));
    }
    if (word) return reply(notices.usage("requests [on|off]", "requests off"));
    const open = await ctx.store.requests.forUser(userId);
    if (open.length === 0) return reply(notices.noRequests(await requestsEnabled(ctx, userId)));
    return reply(notices.requestList(open.map((r) => notices.requestLine(ctx.label(r.contact), r.held, new Date(r.expiresAt).toISOString().slice(0, 10)))));
  },
};
