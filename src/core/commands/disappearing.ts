// "!wa disappearing 7d" in a portal: sets the chat's disappearing-messages timer on both sides.
import { setTimerByCommand, TIMER_CHOICES } from "../outgoing/disappearing.js";
import type { CommandDef } from "./command.js";

export const disappearingCommand: CommandDef = {
  name: "disappearing",
  argument: () => ({ usage: "<timer>", example: TIMER_CHOICES, required: true }),
  summary: (ctx) => `set the chat's disappearing-messages timer (${TIMER_CHOICES}), for you and the contact's ${ctx.network}`,
  level: "user",
  place: "portal",
  async run({ ctx, portal, event, args, reply }) {
    if (!portal || !event) return;
    await setTimerByCommand(ctx, portal, event, args, reply);
  },
};
