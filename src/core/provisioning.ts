// What the provisioning API may do for a Matrix user, in the core's terms: resolve a contact in the directory, open
// a chat, list chats, block and unblock, close a portal. The HTTP shape is the runtime's (src/app/provisioning/).
import { closePortal, startChat } from "./portals.js";
import { RemoteError, type RemoteSafety } from "./ports.js";
import type { CoreContext } from "./context.js";
import { notices } from "./notices.js";

export interface ResolvedContact {
  /** The network's contact ID (for WhatsApp: tel:+49...). */
  readonly contact: string;
  /** The key in the puppet's user ID (the E.164 number). */
  readonly key: string;
  readonly label: string;
  readonly name: string | undefined;
  readonly puppet: string;
  /** The user's portal with the contact, if there is one. */
  readonly roomId: string | null;
}

export interface ChatSummary {
  readonly contact: string;
  readonly key: string;
  readonly label: string;
  readonly name: string | null;
  readonly puppet: string;
  readonly roomId: string;
  readonly encrypted: boolean;
  readonly blocked: boolean;
}

export class ProvisioningService {
  constructor(private readonly ctx: CoreContext) {}

  /** Whether the Matrix user may use the bridge at all (bridge.permissions). */
  allowed(userId: string): boolean {
    return this.ctx.allowed(userId);
  }

  /** A contact from what a user typed; throws InputError. */
  parse(identifier: string): string {
    return this.ctx.remote.ids.parse(identifier, this.ctx.config.bridge.default_country ?? undefined);
  }

  /** Looks the contact up in the network's directory (RemoteError when unknown, not opted in, ...). */
  async resolve(userId: string, contact: string): Promise<ResolvedContact> {
    const profile = await this.ctx.remote.lookup(userId, contact);
    const portal = await this.ctx.store.portals.get(userId, contact);
    return this.describe(contact, profile.name, portal?.roomId ?? null);
  }

  /** Opens (or reuses) the portal; the user is invited to it. */
  async startChat(userId: string, contact: string): Promise<ResolvedContact> {
    const roomId = await startChat(this.ctx, userId, contact);
    const puppet = await this.ctx.store.puppets.get(this.ctx.remote.ids.puppetKey(contact));
    return this.describe(contact, puppet?.displayName ?? undefined, roomId);
  }

  async chats(userId: string): Promise<ChatSummary[]> {
    const blocked = new Set(await this.blockedOrNone(userId));
    const out: ChatSummary[] = [];
    for (const p of await this.ctx.store.portals.forUser(userId)) {
      if (!p.roomId) continue;
      const key = this.ctx.remote.ids.puppetKey(p.remoteUri);
      const puppet = await this.ctx.store.puppets.get(key);
      out.push({ contact: p.remoteUri, key, label: this.ctx.label(p.remoteUri), name: puppet?.displayName ?? null, puppet: this.ctx.puppetOf(p.remoteUri), roomId: p.roomId, encrypted: p.encrypted, blocked: blocked.has(p.remoteUri) });
    }
    return out;
  }

  async setBlocked(userId: string, contact: string, blocked: boolean): Promise<void> {
    // The network refuses a blocked contact's messages itself (the interop protocol's block), as the block command does.
    if (blocked) await this.safety().block(userId, contact);
    else await this.safety().unblock(userId, contact);
    this.ctx.log.info({ user: userId, blocked }, blocked ? "a user blocked a contact" : "a user unblocked a contact");
  }

  async isBlocked(userId: string, contact: string): Promise<boolean> {
    return this.safety().isBlocked(userId, contact);
  }

  private safety(): RemoteSafety {
    const safety = this.ctx.remote.safety;
    if (!safety) throw new RemoteError("invalid", `${this.ctx.network} has no blocking`);
    return safety;
  }

  /** The chat list still answers while the network cannot say who is blocked; they show as not blocked. */
  private async blockedOrNone(userId: string): Promise<string[]> {
    try {
      return (await this.ctx.remote.safety?.blocked(userId)) ?? [];
    } catch (err) {
      this.ctx.log.warn({ err }, "could not read the user's blocks for the chat list");
      return [];
    }
  }

  /** Closes the user's portal with the contact; false when there is none. */
  async deletePortal(userId: string, contact: string): Promise<boolean> {
    const portal = await this.ctx.store.portals.get(userId, contact);
    if (!portal?.roomId) return false;
    await closePortal(this.ctx, portal, notices.portalDeletedByUser(), "deleted through the provisioning API");
    return true;
  }

  private describe(contact: string, name: string | undefined, roomId: string | null): ResolvedContact {
    return { contact, key: this.ctx.remote.ids.puppetKey(contact), label: this.ctx.label(contact), name, puppet: this.ctx.puppetOf(contact), roomId };
  }
}
