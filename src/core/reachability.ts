// Who may write to a Matrix user from the network: everyone (the default), their contacts only (numbers they wrote
// to — opened a chat with or sent something — or whose message request they accepted), or nobody. The bridge
// refuses the others' envelopes when they are delivered, with the protocol's BLOCKED refusal, so the sender learns
// their message was not delivered exactly as if they had been blocked, and cannot tell the setting from a block.
// (A gatekeeper block names one number; "everyone but my contacts" is a rule only the bridge, which knows the
// contacts, can apply.)
import { REACHABILITY_SETTINGS } from "../config/schema.js";
import type { ContactOrigin } from "../store/contacts.js";
import type { CoreContext } from "./context.js";

export const REACHABILITY = REACHABILITY_SETTINGS;
export type Reachability = (typeof REACHABILITY)[number];

export async function reachabilityOf(ctx: CoreContext, userId: string): Promise<Reachability> {
  const own = (await ctx.store.users.get(userId))?.reachable;
  return (REACHABILITY as readonly string[]).includes(own ?? "") ? (own as Reachability) : ctx.config.bridge.default_reachable;
}

/** Whether a message from `contact` may reach the user. */
export async function isReachableBy(ctx: CoreContext, userId: string, contact: string): Promise<boolean> {
  const setting = await reachabilityOf(ctx, userId);
  if (setting === "everyone") return true;
  if (setting === "nobody") return false;
  return ctx.store.contacts.has(userId, contact);
}

/** The user reached out to the contact or accepted them: with `contacts`, the contact gets through from now on. */
export async function rememberContact(ctx: CoreContext, userId: string, contact: string, how: ContactOrigin): Promise<void> {
  await ctx.store.contacts.add(userId, contact, how);
}
