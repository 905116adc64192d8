// Commands typed in a portal room ("!wa disappearing 7d"): they act on that chat and are not sent to the contact.
// Only the prefixed form counts, so ordinary messages that happen to start with a command's word still go out.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { disappearingCommand } from "../outgoing/disappearing.js";

type PortalCommand = (ctx: CoreContext, portal: PortalRow, ev: MatrixEvent, args: string) => Promise<void>;

const PORTAL_COMMANDS: Readonly<Record<string, PortalCommand>> = {
  disappearing: disappearingCommand,
};

/** Runs the portal command in the event, if it is one; returns whether it was. */
export async function runPortalCommand(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<boolean> {
  if (ev.type !== "m.room.message" || ev.content.msgtype !== "m.text" || typeof ev.content.body !== "string") return false;
  const prefix = ctx.remote.phrases.commandPrefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${prefix}\\s+(\\S+)(?:\\s+([\\s\\S]*))?$`, "i").exec(ev.content.body.trim());
  const run = m ? PORTAL_COMMANDS[m[1]!.toLowerCase()] : undefined;
  if (!m || !run) return false;
  await run(ctx, portal, ev, m[2] ?? "");
  return true;
}
