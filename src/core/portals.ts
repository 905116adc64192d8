// Portal lifecycle: one Matrix room per (Matrix user, contact), owned by the contact's puppet. Created by command or
// by a first message, adopted from an invite of the puppet, forgotten when the user leaves (and then made anew).
import type { PortalRow } from "../store/portals.js";
import { bridgeInfoState, postBridgeInfo, watchingProfile } from "./bridge-info.js";
import type { CoreContext } from "./context.js";
import type { MatrixEvent } from "./events.js";
import { admitNewPortal } from "./limits.js";
import { notices } from "./notices.js";
import { rememberContact } from "./reachability.js";
import { addToSpace, removeFromSpace } from "./space.js";
import { isBridgedType, sendToRemote } from "./outgoing/index.js";
import type { RemoteProfile } from "./ports.js";

/** Opens (or reuses) the portal with a contact after checking the directory. Returns the room ID. */
export async function startChat(ctx: CoreContext, userId: string, contact: string): Promise<string> {
  await ctx.remote.ensureIdentity(userId);
  const profile = await ctx.remote.lookup(userId, contact);
  await admitNewPortal(ctx, userId, contact);
  const roomId = await ensurePortal(ctx, userId, contact, profile);
  await rememberContact(ctx, userId, contact, "wrote");
  return roomId;
}

/** The portal's room, made now if the chat has none (or its room lost the puppet). */
export function ensurePortal(ctx: CoreContext, userId: string, contact: string, profile: Pick<RemoteProfile, "name" | "avatar"> | undefined): Promise<string> {
  return ctx.chatLock.run(ctx.chatKey(userId, contact), async () => {
    await ctx.store.users.ensure(userId, ctx.remote.ids.localUser(userId));
    const puppet = await watchingProfile(ctx, contact, () => ctx.matrix.ensurePuppet(ctx.remote.ids.puppetKey(contact), { name: profile?.name, avatar: profile?.avatar }));
    const existing = await ctx.store.portals.get(userId, contact);
    if (existing?.roomId) {
      if (ctx.membersChecked.fresh(existing.roomId)) return existing.roomId;
      const members = await ctx.matrix.joinedMembers(existing.roomId).catch(() => [] as string[]);
      if (members.includes(puppet)) {
        if (!members.includes(userId)) await ctx.matrix.invite(puppet, existing.roomId, userId).catch(() => undefined);
        else ctx.membersChecked.mark(existing.roomId);
        return existing.roomId;
      }
      await ctx.store.portals.forgetRoom(existing.roomId);
      await removeFromSpace(ctx, userId, existing.roomId);
    }
    const encrypted = ctx.config.bridge.encryption.default;
    const initialState = await bridgeInfoState(ctx, contact);
    const roomId = await ctx.matrix.createPortalRoom({ puppetUserId: puppet, inviteUserId: userId, name: profile?.name ?? ctx.label(contact), encrypted, initialState });
    await ctx.store.portals.upsert({ matrixUser: userId, remoteUri: contact, roomId, encrypted });
    ctx.log.info({ room: roomId }, "portal created");
    await addToSpace(ctx, userId, roomId);
    return roomId;
  });
}

/** The user invited a puppet to a room: it becomes the portal with that contact, if the contact can be reached. */
export async function adoptFromInvite(ctx: CoreContext, ev: MatrixEvent, contact: string): Promise<void> {
  const puppet = ctx.puppetOf(contact);
  await ctx.matrix.ensurePuppet(ctx.remote.ids.puppetKey(contact), {});
  await ctx.matrix.joinRoom(puppet, ev.room_id, { encrypted: inviteRoomEncrypted(ev) });
  let adopted = false;
  await ctx.chatLock.run(ctx.chatKey(ev.sender, contact), async () => {
    try {
      await ctx.remote.ensureIdentity(ev.sender);
      const profile = await ctx.remote.lookup(ev.sender, contact);
      await admitNewPortal(ctx, ev.sender, contact);
      await watchingProfile(ctx, contact, () => ctx.matrix.ensurePuppet(ctx.remote.ids.puppetKey(contact), { name: profile.name, avatar: profile.avatar }), ev.room_id);
    } catch (err) {
      await ctx.notice(puppet, ev.room_id, notices.warning(ctx.explain(err, contact)), `lookup-${ev.event_id}`);
      await ctx.matrix.leaveRoom(puppet, ev.room_id, "cannot chat with this contact");
      return;
    }
    await ctx.store.users.ensure(ev.sender, ctx.remote.ids.localUser(ev.sender));
    const previous = await ctx.store.portals.get(ev.sender, contact);
    if (previous?.roomId && previous.roomId !== ev.room_id) {
      await ctx.matrix.leaveRoom(puppet, previous.roomId, "the chat moved to a new room").catch(() => undefined);
      await removeFromSpace(ctx, ev.sender, previous.roomId);
    }
    // A room created encrypted sent its m.room.encryption before this invite, when it was no portal yet.
    await ctx.store.portals.upsert({ matrixUser: ev.sender, remoteUri: contact, roomId: ev.room_id, encrypted: inviteRoomEncrypted(ev) });
    await postBridgeInfo(ctx, contact, ev.room_id);
    ctx.log.info({ room: ev.room_id }, "portal adopted from an invite");
    await rememberContact(ctx, ev.sender, contact, "wrote");
    await addToSpace(ctx, ev.sender, ev.room_id);
    adopted = true;
  });
  if (adopted) await bridgeEarlyMessages(ctx, ev.room_id, puppet);
}

/**
 * What the user wrote before the puppet joined: the homeserver pushes a room's events to the bridge only once one of
 * its users has joined, so these are read from the room and sent now, in order, before anything newer (the invite
 * holds the room's queue). Encrypted ones were encrypted before the puppet had a device: the user is told.
 */
async function bridgeEarlyMessages(ctx: CoreContext, roomId: string, puppet: string): Promise<void> {
  const portal = await ctx.store.portals.byRoom(roomId);
  if (!portal) return;
  const early = await ctx.matrix.eventsBeforeJoin(puppet, roomId).catch((err) => {
    ctx.log.warn({ err, room: roomId }, "could not read what was written before the puppet joined");
    return [] as MatrixEvent[];
  });
  const mine = early.filter((e) => e.sender === portal.matrixUser);
  for (const e of mine) if (isBridgedType(e.type)) await sendToRemote(ctx, portal, e);
  const unreadable = mine.filter((e) => e.type === "m.room.encrypted");
  if (unreadable.length > 0) {
    await ctx.notice(puppet, roomId, notices.earlyUnreadable(unreadable.length, ctx.label(portal.remoteUri)), `early-${unreadable[0]!.event_id}`);
  }
}

/**
 * Closes a portal on purpose (an admin, the user through an integration): the puppet says so and leaves, and the chat
 * is forgotten, so the next message from either side opens a new room.
 */
export async function closePortal(ctx: CoreContext, portal: PortalRow, text: string, reason: string): Promise<void> {
  if (!portal.roomId) return;
  const roomId = portal.roomId;
  const puppet = ctx.puppetOf(portal.remoteUri);
  await ctx.notice(puppet, roomId, text, `closed-${roomId}`).catch((err) => ctx.log.warn({ err }, "could not post the closing notice"));
  await ctx.store.portals.forgetRoom(roomId);
  await removeFromSpace(ctx, portal.matrixUser, roomId);
  await ctx.matrix.leaveRoom(puppet, roomId, reason).catch((err) => ctx.log.warn({ err, room: roomId }, "the puppet could not leave a closed portal"));
  ctx.log.info({ room: roomId, reason }, "portal closed");
}

/** The user left their portal: it is forgotten (the next message makes a new one) and the puppet leaves too. */
export async function forgetPortal(ctx: CoreContext, portal: PortalRow): Promise<void> {
  if (!portal.roomId) return;
  await ctx.store.portals.forgetRoom(portal.roomId);
  await removeFromSpace(ctx, portal.matrixUser, portal.roomId);
  await ctx.matrix.leaveRoom(ctx.puppetOf(portal.remoteUri), portal.roomId).catch((e) => ctx.log.warn({ err: e }, "puppet could not leave"));
  ctx.log.info({ room: portal.roomId }, "user left a portal; it will be recreated on the next message");
}

/** Whether the stripped room state that came with an invite says the room is encrypted. */
function inviteRoomEncrypted(ev: MatrixEvent): boolean {
  const state = ev.unsigned?.invite_room_state;
  return Array.isArray(state) && state.some((s: { type?: unknown; state_key?: unknown }) => s?.type === "m.room.encryption" && s.state_key === "");
}
