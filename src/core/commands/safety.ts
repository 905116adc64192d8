// Security codes in a portal: show them (digits and the QR text), and verify the contact's current identity.
import { notices } from "../notices.js";
import type { CommandDef } from "./command.js";

/** 60 digits as Signal and WhatsApp show them: twelve groups of five, four per line. */
export function groupDigits(digits: string): string {
  const groups = digits.match(/.{1,5}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 4) lines.push(groups.slice(i, i + 4).join(" "));
  return lines.join("\n");
}

export const safetyNumberCommand: CommandDef = {
  name: "safety-number",
  aliases: ["security-code", "sn"],
  summary: (ctx) => `show the security code with the contact, to compare with the one their ${ctx.network} shows`,
  level: "user",
  place: "portal",
  async run({ ctx, portal, reply }) {
    const safety = ctx.remote.safety;
    if (!safety || !portal) return reply(notices.noSafety(ctx.network));
    const who = ctx.label(portal.remoteUri);
    const numbers = await safety.safetyNumbers(portal.matrixUser, portal.remoteUri);
    if (numbers.length === 0) return reply(notices.noSafetyNumber(who));
    const several = numbers.length > 1;
    return reply(notices.safetyNumbers(who, numbers.map((n) => notices.safetyNumberLine(several ? n.device : undefined, groupDigits(n.digits), n.qr))));
  },
};

export const verifyCommand: CommandDef = {
  name: "verify",
  argument: () => ({ usage: "[<code>]", example: "12345 67890 …", required: false }),
  summary: () => "mark the contact's security code as verified, after comparing it (give the code to have it checked)",
  level: "user",
  place: "portal",
  async run({ ctx, portal, args, reply }) {
    const safety = ctx.remote.safety;
    if (!safety || !portal) return reply(notices.noSafety(ctx.network));
    const who = ctx.label(portal.remoteUri);
    const result = await safety.verify(portal.matrixUser, portal.remoteUri, args || undefined);
    if (!result.ok) return reply(result.reason === "mismatch" ? notices.verifyMismatch(who) : notices.noSafetyNumber(who));
    // Messages held for this verification go out now rather than at their next retry.
    await ctx.store.outbox.retryAllNow();
    ctx.remote.wake();
    return reply(notices.verified(who, result.devices));
  },
};
