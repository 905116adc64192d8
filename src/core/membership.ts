// Room membership of the bridge's users: invites of the bot (a management room) or of a puppet (a portal), and the
// Matrix user leaving either. Permission comes first: nothing is registered, joined or looked up for a user the
// bridge does not let in.
import { isPuppetUserId } from "../config/identities.js";
import { helpText } from "./commands/index.js";
import type { CoreContext } from "./context.js";
import type { MatrixEvent } from "./events.js";
import { notices } from "./notices.js";
import { adoptFromInvite, forgetPortal } from "./portals.js";
import { addToSpace, removeFromSpace, spaceLeft } from "./space.js";

export async function handleMembership(ctx: CoreContext, ev: MatrixEvent): Promise<void> {
  ctx.membersChecked.forget(ev.room_id);
  const membership = ev.content.membership;
  const target = ev.state_key ?? "";
  if (membership === "invite" && target === ctx.matrix.botUserId) return botInvited(ctx, ev);
  const key = isPuppetUserId(ctx.config, target);
  if (membership === "invite" && key !== null) return puppetInvited(ctx, ev, key);
  if ((membership === "leave" || membership === "ban") && target === ev.sender) return userLeft(ctx, ev);
}

async function botInvited(ctx: CoreContext, ev: MatrixEvent): Promise<void> {
  if (!ctx.allowed(ev.sender)) return rejectInvite(ctx, ctx.matrix.botUserId, ev);
  await ctx.matrix.joinRoom(ctx.matrix.botUserId, ev.room_id);
  await ctx.store.users.ensure(ev.sender, ctx.remote.ids.localUser(ev.sender));
  await ctx.store.users.setManagementRoom(ev.sender, ev.room_id);
  await addToSpace(ctx, ev.sender, ev.room_id);
  // With an identity on the network the user can be written to first (message requests are for that), from the
  // moment they see the help.
  await ctx.remote.ensureIdentity(ev.sender).catch((err) => ctx.log.warn({ err }, "could not create the user's network identity yet; it is made with their first chat"));
  await ctx.notice(ctx.matrix.botUserId, ev.room_id, helpText(ctx, ev.sender), `help-${ev.event_id}`);
}

async function puppetInvited(ctx: CoreContext, ev: MatrixEvent, key: string): Promise<void> {
  const contact = ctx.remote.ids.fromPuppetKey(key);
  if (contact === null) {
    // The homeserver's user query already refused this ID; an invite can only come from a forged or stale event.
    ctx.log.info({ room: ev.room_id }, "ignoring an invite to a puppet ID that names no valid contact");
    return;
  }
  if (!ctx.allowed(ev.sender)) return rejectInvite(ctx, ctx.puppetOf(contact), ev);
  await adoptFromInvite(ctx, ev, contact);
}

/** Declines an invite from someone who may not use the bridge, with the reason, before anything else is done. */
async function rejectInvite(ctx: CoreContext, asUser: string, ev: MatrixEvent): Promise<void> {
  ctx.log.info({ user: ev.sender, room: ev.room_id }, "declining an invite from a user who may not use the bridge");
  await ctx.matrix.leaveRoom(asUser, ev.room_id, notices.notAllowed(ctx.network)).catch((err) => ctx.log.warn({ err, room: ev.room_id }, "could not decline the invite"));
}

async function userLeft(ctx: CoreContext, ev: MatrixEvent): Promise<void> {
  const portal = await ctx.store.portals.byRoom(ev.room_id);
  if (portal && portal.matrixUser === ev.sender) return forgetPortal(ctx, portal);
  const user = await ctx.store.users.byManagementRoom(ev.room_id);
  if (user && user.userId === ev.sender) {
    await ctx.store.users.setManagementRoom(user.userId, null);
    await removeFromSpace(ctx, user.userId, ev.room_id);
    await ctx.matrix.leaveRoom(ctx.matrix.botUserId, ev.room_id).catch(() => undefined);
    return;
  }
  const owner = await ctx.store.users.bySpace(ev.room_id);
  if (owner && owner.userId === ev.sender) await spaceLeft(ctx, owner.userId, ev.room_id);
}
