// Commands for bridge admins (permission "admin"): look into and repair other users' portals, and the bridge itself.
import { postBridgeInfo, watchingProfile } from "../bridge-info.js";
import { closePortal } from "../portals.js";
import { notices } from "../notices.js";
import { removeFromSpace } from "../space.js";
import { askToConfirm } from "./confirm.js";
import { contactArgument, type CommandCall, type CommandDef } from "./command.js";

const USER_ID = /^@[^\s:]+:\S+$/;
const ROOM_ID = /^![^\s:]+:\S+$/;

export const versionCommand: CommandDef = {
  name: "version",
  summary: () => "the bridge's version",
  level: "admin",
  run: ({ ctx, reply }) => reply(ctx.ops ? notices.version(ctx.network, ctx.ops.version) : notices.notAvailable()),
};

export const statusCommand: CommandDef = {
  name: "status",
  summary: (ctx) => `queues, the ${ctx.network} connection, crypto devices, portals`,
  level: "admin",
  async run({ ctx, reply }) {
    if (!ctx.ops) return reply(notices.notAvailable());
    const [ops, remote] = await Promise.all([ctx.ops.status(), ctx.remote.status()]);
    const since = new Date(remote.since).toISOString();
    const lines = [
      `• ${ctx.network}: ${remote.connected ? "connected" : "not connected"} since ${since}${remote.lastError ? ` (last error: ${remote.lastError})` : ""}`,
      ...ops.queues.map((q) => `• queue ${q.name}: ${q.depth} waiting${q.depth > 0 ? `, oldest ${Math.round(q.oldestAgeSeconds)} s` : ""}`),
      `• crypto machines open: ${ops.cryptoMachines ?? "encryption off"}`,
      `• portals: ${ops.portals}, puppets: ${ops.puppets}`,
      `• version ${ctx.ops.version}`,
    ];
    return reply(notices.statusReport(lines));
  },
};

export const portalsCommand: CommandDef = {
  name: "portals",
  argument: () => ({ usage: "<Matrix user ID>", example: "@alice:example.org", required: true }),
  summary: () => "a user's portals",
  level: "admin",
  async run({ ctx, args, reply }) {
    const userId = args.trim();
    if (!USER_ID.test(userId)) return reply(notices.notAUserId(userId));
    const portals = (await ctx.store.portals.forUser(userId)).filter((p) => p.roomId);
    return reply(notices.userPortals(userId, portals.map((p) => notices.adminChatLine(ctx.label(p.remoteUri), p.roomId!, p.encrypted))));
  },
};

export const deletePortalCommand: CommandDef = {
  name: "delete-portal",
  argument: () => ({ usage: "<room ID>", example: "!abc:example.org", required: true }),
  summary: () => "close a portal: its puppet leaves and the chat is forgotten (the next message opens a new one)",
  level: "admin",
  async run({ ctx, args, reply }) {
    const roomId = args.trim();
    if (!ROOM_ID.test(roomId)) return reply(notices.notARoomId(roomId));
    const portal = await ctx.store.portals.byRoom(roomId);
    if (!portal) return reply(notices.noSuchPortal(roomId));
    await closePortal(ctx, portal, notices.portalDeletedHere(), "closed by the bridge admin");
    return reply(notices.portalDeleted(ctx.label(portal.remoteUri), portal.matrixUser, roomId));
  },
};

export const syncProfileCommand: CommandDef = {
  name: "sync-profile",
  argument: (ctx) => ({ usage: `<${ctx.remote.phrases.contactNoun}>`, example: ctx.remote.phrases.contactExample, required: true }),
  summary: () => "fetch a contact's name and picture again and update their puppet and bridge info",
  level: "admin",
  async run(call) {
    const { ctx, userId, reply } = call;
    const contact = await contactArgument(call);
    if (contact === undefined) return;
    try {
      const profile = await ctx.remote.lookup(userId, contact);
      const key = ctx.remote.ids.puppetKey(contact);
      await watchingProfile(ctx, contact, () => ctx.matrix.ensurePuppet(key, { name: profile.name, avatar: profile.avatar }));
      // Also where the profile did not change: portals made before bridge info existed get it now.
      const portals = await ctx.store.portals.forContact(contact);
      for (const p of portals) await postBridgeInfo(ctx, contact, p.roomId!);
      const puppet = await ctx.store.puppets.get(key);
      return reply(notices.profileSynced(ctx.label(contact), puppet?.displayName ?? ctx.label(contact), portals.length));
    } catch (err) {
      return reply(notices.warning(ctx.explain(err, contact)));
    }
  },
};

export const resetCryptoCommand: CommandDef = {
  name: "reset-crypto",
  argument: () => ({ usage: "<puppet or bot user ID>", example: "@whatsappbot:example.org", required: true }),
  summary: () => "give the bot or a puppet a new Matrix E2EE device (asks for confirmation)",
  level: "admin",
  async run(call: CommandCall) {
    const { ctx, args, reply } = call;
    if (!ctx.ops) return reply(notices.notAvailable());
    const target = args.trim();
    if (!USER_ID.test(target)) return reply(notices.notAUserId(target));
    const isBot = target === ctx.matrix.botUserId;
    const isPuppet = !isBot && (await ctx.store.puppets.byUserId(target)) !== undefined;
    if (!isBot && !isPuppet) return reply(notices.notBridgeUser(target));
    const ops = ctx.ops;
    return askToConfirm(call, `replace the Matrix encryption device of ${target}`, async (confirmed) => {
      const deviceId = await ops.resetCrypto(target);
      ctx.log.warn({ user: target, device: deviceId }, "Matrix crypto device reset by an admin");
      await confirmed.reply(notices.cryptoReset(target, deviceId));
    });
  },
};

/** Every portal of the user closed (notice, the puppet leaves), then the runtime forgets the rest. */
export const logoutCommand: CommandDef = {
  name: "logout",
  aliases: ["forget-me"],
  summary: (ctx) => `remove your ${ctx.network} identity and all your chats from the bridge (asks for confirmation)`,
  level: "user",
  async run(call: CommandCall) {
    const { ctx, userId, reply } = call;
    if (!ctx.ops) return reply(notices.notAvailable());
    const ops = ctx.ops;
    return askToConfirm(call, `remove your ${ctx.network} identity, its keys and all your bridged chats`, async (confirmed) => {
      const portals = (await ctx.store.portals.forUser(userId)).filter((p) => p.roomId);
      for (const p of portals) {
        const puppet = ctx.puppetOf(p.remoteUri);
        await ctx.notice(puppet, p.roomId!, notices.portalClosedByLogout(ctx.network), `logout-${p.roomId}-${confirmed.eventId}`).catch(() => undefined);
        await ctx.matrix.leaveRoom(puppet, p.roomId!, "the user logged out").catch((err) => ctx.log.warn({ err, room: p.roomId }, "the puppet could not leave"));
        await removeFromSpace(ctx, userId, p.roomId!);
      }
      await ops.forgetUser(userId);
      ctx.log.info({ user: userId, portals: portals.length }, "a user logged out: interop identity and chats forgotten");
      await confirmed.reply(notices.loggedOut(ctx.network, portals.length));
    });
  },
};
