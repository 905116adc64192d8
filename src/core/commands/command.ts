// A management-room command as data: what it is called, what it takes, who may run it and what it does. Help and
// usage errors are generated from these definitions.
import type { Role } from "../../config/schema.js";
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { InputError } from "../ports.js";

export interface CommandCall {
  ctx: CoreContext;
  userId: string;
  roomId: string;
  eventId: string;
  /** The argument text after the command word (trimmed; "" when none). */
  args: string;
  /** The chat the command was sent in, for commands that run in a portal. */
  portal?: PortalRow;
  /** The command message's content (a reply's m.relates_to, for instance). */
  content?: Record<string, unknown>;
  /** The command message itself, for portal commands that act as of when it was sent. */
  event?: MatrixEvent;
  reply(text: string): Promise<void>;
}

/**
 * Where a command runs: the management room (the default), a portal (with the prefix, "!wa verify", since everything
 * else there is a message to the contact), or both.
 */
export type CommandPlace = "management" | "portal" | "both";

export interface CommandDef {
  name: string;
  aliases?: readonly string[];
  /** The argument as help shows it ("<phone number>"); absent for commands without one. */
  argument?: (ctx: CoreContext) => { usage: string; example?: string; required: boolean };
  /** One line for help. */
  summary: (ctx: CoreContext) => string;
  /** The least role that may run it. */
  level: Role;
  place?: CommandPlace;
  run(call: CommandCall): Promise<void>;
}

/** The contact the command's argument names; undefined once the user has been told why it names none. */
export async function contactArgument(call: CommandCall): Promise<string | undefined> {
  try {
    return call.ctx.remote.ids.parse(call.args, call.ctx.config.bridge.default_country ?? undefined);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    await call.reply(err.message);
    return undefined;
  }
}
