// A management-room command as data: what it is called, what it takes, who may run it and what it does. Help and
// usage errors are generated from these definitions.
import type { Role } from "../../config/schema.js";
import type { CoreContext } from "../context.js";

export interface CommandCall {
  ctx: CoreContext;
  userId: string;
  roomId: string;
  eventId: string;
  /** The argument text after the command word (trimmed; "" when none). */
  args: string;
  reply(text: string): Promise<void>;
}

export interface CommandDef {
  name: string;
  aliases?: readonly string[];
  /** The argument as help shows it ("<phone number>"); absent for commands without one. */
  argument?: (ctx: CoreContext) => { usage: string; example?: string; required: boolean };
  /** One line for help. */
  summary: (ctx: CoreContext) => string;
  /** The least role that may run it. */
  level: Role;
  run(call: CommandCall): Promise<void>;
}
