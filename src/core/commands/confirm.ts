// Confirmation for commands that destroy something: the command only asks, and `confirm <code>` from the same user
// within a few minutes does it. Kept in memory: after a restart the user asks again, which is the safe side.
import { randomInt } from "node:crypto";
import type { CoreContext } from "../context.js";
import { notices } from "../notices.js";
import type { CommandCall, CommandDef } from "./command.js";

const VALID_MS = 5 * 60_000;

interface Pending {
  readonly code: string;
  readonly what: string;
  readonly expires: number;
  run(call: CommandCall): Promise<void>;
}

const pendingByContext = new WeakMap<CoreContext, Map<string, Pending>>();

function pendingOf(ctx: CoreContext): Map<string, Pending> {
  let map = pendingByContext.get(ctx);
  if (!map) pendingByContext.set(ctx, (map = new Map()));
  return map;
}

/** Asks the user to confirm `what`; `run` happens on `confirm <code>`. A new request replaces an older one. */
export async function askToConfirm(call: CommandCall, what: string, run: (call: CommandCall) => Promise<void>, now = Date.now()): Promise<void> {
  const code = String(randomInt(1000, 10_000));
  pendingOf(call.ctx).set(call.userId, { code, what, expires: now + VALID_MS, run });
  await call.reply(notices.confirmRequest(what, code, VALID_MS / 60_000));
}

export const confirmCommand: CommandDef = {
  name: "confirm",
  argument: () => ({ usage: "<code>", required: true }),
  summary: () => "carry out the command that asked for confirmation",
  level: "user",
  async run(call) {
    const map = pendingOf(call.ctx);
    const pending = map.get(call.userId);
    if (!pending || pending.expires < Date.now()) {
      map.delete(call.userId);
      return call.reply(notices.nothingToConfirm());
    }
    if (call.args.trim() !== pending.code) return call.reply(notices.wrongConfirmCode(pending.what));
    map.delete(call.userId);
    await pending.run(call);
  },
};
