// Bridge info (MSC2346) in every portal: `m.bridge` and its older name `uk.half-shot.bridge`, so that clients can show
// "bridged to WhatsApp" with the contact's name and picture. Set when a portal is made or adopted, and again in all
// of a contact's portals when the contact's profile (name or picture) changes.
import type { PuppetRow } from "../store/puppets.js";
import type { CoreContext } from "./context.js";
import type { StateEvent } from "./ports.js";

export const BRIDGE_INFO_TYPES = ["m.bridge", "uk.half-shot.bridge"] as const;

/** The protocol's ID: the network's name in lower case, letters and digits only ("WhatsApp" -> "whatsapp"). */
export function protocolId(networkName: string): string {
  return networkName.toLowerCase().replace(/[^a-z0-9]+/g, "") || "remote";
}

/** Both bridge info state events for the portal with `contact`, from the puppet's profile as stored. */
export async function bridgeInfoState(ctx: CoreContext, contact: string): Promise<StateEvent[]> {
  const key = ctx.remote.ids.puppetKey(contact);
  const puppet = await ctx.store.puppets.get(key);
  const protocol = protocolId(ctx.network);
  const gatekeeper = new URL(ctx.config.gatekeeper.url).host;
  const content = {
    bridgebot: ctx.matrix.botUserId,
    creator: ctx.puppetOf(contact),
    protocol: { id: protocol, displayname: ctx.network },
    // One bridge talks to one gatekeeper: that is the network, in the sense of an IRC bridge's networks.
    network: { id: gatekeeper, displayname: `${ctx.network} (DMA interoperability)` },
    channel: {
      id: key,
      displayname: puppet?.displayName ?? ctx.label(contact),
      ...(puppet?.avatarMxc ? { avatar_url: puppet.avatarMxc } : {}),
    },
  };
  // The state key names bridge, protocol and channel (MSC2346), so several bridges may describe one room.
  const stateKey = `${ctx.config.appservice.id}://${protocol}/${key}`;
  return BRIDGE_INFO_TYPES.map((type) => ({ type, stateKey, content }));
}

/** Sets the bridge info in one portal as its puppet. Best effort: a room where the puppet may not set state keeps going. */
export async function postBridgeInfo(ctx: CoreContext, contact: string, roomId: string): Promise<void> {
  const puppet = ctx.puppetOf(contact);
  for (const state of await bridgeInfoState(ctx, contact)) {
    try {
      await ctx.matrix.setState(puppet, roomId, state);
    } catch (err) {
      ctx.log.warn({ err, room: roomId, type: state.type }, "could not set the bridge info in a portal");
    }
  }
}

/** Whether what bridge info shows of the contact changed between two readings of its puppet. */
export function profileChanged(before: PuppetRow | undefined, after: PuppetRow | undefined): boolean {
  return before?.displayName !== after?.displayName || (before?.avatarMxc ?? null) !== (after?.avatarMxc ?? null);
}

/**
 * Runs `update` (which may change the contact's puppet profile) and, when the profile changed, refreshes the bridge
 * info in every portal with the contact.
 */
export async function watchingProfile<T>(ctx: CoreContext, contact: string, update: () => Promise<T>, except?: string): Promise<T> {
  const key = ctx.remote.ids.puppetKey(contact);
  const before = await ctx.store.puppets.get(key);
  const result = await update();
  const after = await ctx.store.puppets.get(key);
  if (before !== undefined && profileChanged(before, after)) {
    for (const portal of await ctx.store.portals.forContact(contact)) {
      if (portal.roomId && portal.roomId !== except) await postBridgeInfo(ctx, contact, portal.roomId);
    }
  }
  return result;
}
