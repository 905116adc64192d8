// Commands about the bridge itself.
import { notices } from "../notices.js";
import type { CommandDef } from "./command.js";

export const pingCommand: CommandDef = {
  name: "ping",
  summary: (ctx) => `the state of the connection to ${ctx.network}`,
  level: "user",
  async run({ ctx, reply }) {
    const s = await ctx.remote.status();
    const since = new Date(s.since).toISOString();
    return reply(s.connected ? notices.connected(ctx.network, since, s.pendingOutgoing) : notices.disconnected(ctx.network, since, s.pendingOutgoing));
  },
};
