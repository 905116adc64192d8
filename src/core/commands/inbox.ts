// The user's third-party inbox: who may reach them from the network (everyone, contacts, nobody), and their space of
// chats (made again with `space` after they left it).
import { notices } from "../notices.js";
import { REACHABILITY, reachabilityOf, type Reachability } from "../reachability.js";
import { restoreSpace } from "../space.js";
import type { CommandDef } from "./command.js";

export const reachableCommand: CommandDef = {
  name: "reachable",
  argument: () => ({ usage: "[everyone|contacts|nobody]", example: "contacts", required: false }),
  summary: (ctx) => `who may write to you from ${ctx.network}: everyone, your contacts (numbers you wrote to or accepted) or nobody`,
  level: "user",
  async run({ ctx, userId, args, reply }) {
    const word = args.trim().toLowerCase();
    if (!word) return reply(notices.reachability(await reachabilityOf(ctx, userId), ctx.network, false));
    if (!(REACHABILITY as readonly string[]).includes(word)) return reply(notices.usage("reachable [everyone|contacts|nobody]", "reachable contacts"));
    await ctx.store.users.ensure(userId, ctx.remote.ids.localUser(userId));
    await ctx.store.users.setReachable(userId, word);
    ctx.log.info({ reachable: word }, "the user changed who may reach them");
    return reply(notices.reachability(word as Reachability, ctx.network, true));
  },
};

export const spaceCommand: CommandDef = {
  name: "space",
  summary: (ctx) => `invite you (again) to the space of your ${ctx.network} chats`,
  level: "user",
  async run({ ctx, userId, reply }) {
    if (!ctx.config.bridge.personal_space) return reply(notices.spacesOff());
    await ctx.store.users.ensure(userId, ctx.remote.ids.localUser(userId));
    try {
      const spaceId = await restoreSpace(ctx, userId);
      return reply(spaceId ? notices.spaceReady(ctx.network, spaceId) : notices.spacesOff());
    } catch (err) {
      return reply(notices.warning(ctx.internalFailure(err, "could not make the user's space")));
    }
  },
};
