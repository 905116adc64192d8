// Commands about the user's chats: open one, list them.
import { notices } from "../notices.js";
import { startChat } from "../portals.js";
import { contactArgument, type CommandDef } from "./command.js";

export const startChatCommand: CommandDef = {
  name: "start-chat",
  aliases: ["start", "pm"],
  argument: (ctx) => ({ usage: `<${ctx.remote.phrases.contactNoun}>`, example: ctx.remote.phrases.contactExample, required: true }),
  summary: (ctx) => `open a chat with a ${ctx.network} user (${ctx.remote.phrases.contactSpellings})`,
  level: "user",
  async run(call) {
    const { ctx, userId, reply } = call;
    const contact = await contactArgument(call);
    if (contact === undefined) return;
    try {
      const roomId = await startChat(ctx, userId, contact);
      return reply(notices.chatReady(ctx.label(contact), roomId));
    } catch (err) {
      return reply(notices.warning(ctx.explain(err, contact)));
    }
  },
};

export const listCommand: CommandDef = {
  name: "list",
  summary: () => "your bridged chats",
  level: "user",
  async run({ ctx, userId, reply }) {
    const portals = (await ctx.store.portals.forUser(userId)).filter((p) => p.roomId);
    if (portals.length === 0) return reply(notices.noChats(ctx.remote.phrases.contactNoun));
    return reply(notices.chatList(ctx.network, portals.map((p) => notices.chatLine(ctx.label(p.remoteUri), p.roomId!))));
  },
};
