// Each Matrix user's space of the network ("WhatsApp"): their portals and the management room as its children, so
// third-party chats sit in one place apart from the rest of their Matrix rooms (bridge.personal_space). The bot owns
// the space; a portal becomes a child when it is opened and stops being one when it is forgotten. The space is
// tidying, not delivery: a failure is logged and never holds a message back. A user who leaves their space is not
// given a new one until they ask (the `space` command).
import type { CoreContext } from "./context.js";

/** Makes a room a child of the space, or (an m.space.child without `via`) stops it being one. */
function setChild(ctx: CoreContext, spaceId: string, roomId: string, present: boolean): Promise<void> {
  return ctx.matrix.setState(ctx.matrix.botUserId, spaceId, { type: "m.space.child", stateKey: roomId, content: present ? { via: [ctx.matrix.domain] } : {} });
}

/** The user's space, made (with the rooms they have) when there is none; null when spaces are off or declined. */
export async function ensureSpace(ctx: CoreContext, userId: string): Promise<string | null> {
  return (await spaceOf(ctx, userId))?.spaceId ?? null;
}

/** The user's space, and whether it was made just now (with every room the user has already in it). */
async function spaceOf(ctx: CoreContext, userId: string): Promise<{ spaceId: string; made: boolean } | null> {
  if (!ctx.config.bridge.personal_space) return null;
  return ctx.chatLock.run(`space\u0000${userId}`, async () => {
    const user = await ctx.store.users.get(userId);
    if (!user || user.spaceDeclined) return null;
    if (user.spaceRoom) return { spaceId: user.spaceRoom, made: false };
    const spaceId = await ctx.matrix.createSpace({ inviteUserId: userId, name: ctx.network, topic: `Your ${ctx.network} chats, bridged` });
    await ctx.store.users.setSpace(userId, spaceId);
    ctx.log.info({ room: spaceId }, "made the user's space of chats");
    const rooms = [user.managementRoom, ...(await ctx.store.portals.forUser(userId)).map((p) => p.roomId)].filter((r): r is string => r !== null);
    for (const room of rooms) await setChild(ctx, spaceId, room, true);
    return { spaceId, made: true };
  });
}

/** Puts a portal or the management room into the user's space (best effort). */
export async function addToSpace(ctx: CoreContext, userId: string, roomId: string): Promise<void> {
  try {
    const space = await spaceOf(ctx, userId);
    if (space && !space.made) await setChild(ctx, space.spaceId, roomId, true);
  } catch (err) {
    ctx.log.warn({ err, room: roomId }, "could not add a room to the user's space");
  }
}

/** Takes a forgotten room out of the user's space (best effort); makes no space for it. */
export async function removeFromSpace(ctx: CoreContext, userId: string, roomId: string): Promise<void> {
  try {
    const spaceId = (await ctx.store.users.get(userId))?.spaceRoom;
    if (spaceId) await setChild(ctx, spaceId, roomId, false);
  } catch (err) {
    ctx.log.warn({ err, room: roomId }, "could not remove a room from the user's space");
  }
}

/** The user left their space: the bot leaves too, and no new one is made for them unless they ask. */
export async function spaceLeft(ctx: CoreContext, userId: string, spaceId: string): Promise<void> {
  await ctx.store.users.setSpace(userId, null, true);
  await ctx.matrix.leaveRoom(ctx.matrix.botUserId, spaceId).catch((err) => ctx.log.warn({ err, room: spaceId }, "the bot could not leave the space"));
  ctx.log.info({ room: spaceId }, "the user left their space; none is made again unless they ask");
}

/** The `space` command: a space again for a user who left theirs (or one they never accepted the invite to). */
export async function restoreSpace(ctx: CoreContext, userId: string): Promise<string | null> {
  const user = await ctx.store.users.get(userId);
  if (user?.spaceDeclined) await ctx.store.users.setSpace(userId, null, false);
  const spaceId = await ensureSpace(ctx, userId);
  if (spaceId) await ctx.matrix.invite(ctx.matrix.botUserId, spaceId, userId).catch(() => undefined); // already invited or joined
  return spaceId;
}
