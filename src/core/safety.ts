// Identity news in a portal: a contact's changed security code or new device is announced once, whether a send or a
// receive saw it first. The network keeps what the user was told; the notice's transaction ID names the change, so
// a retry after a crash between posting and recording posts nothing twice.
import type { CoreContext } from "./context.js";
import { notices } from "./notices.js";
import type { IdentityNews } from "./ports.js";

/** The portal command texts the notices point to ("!wa safety-number"). */
export function commandText(ctx: CoreContext, name: string): string {
  return `${ctx.remote.phrases.commandPrefix} ${name}`;
}

function sentence(ctx: CoreContext, contact: string, news: IdentityNews, held: boolean): string {
  const who = ctx.label(contact);
  const compare = commandText(ctx, "safety-number");
  const verify = commandText(ctx, "verify");
  if (news.wasVerified) {
    return news.kind === "changed" ? notices.verifiedCodeChanged(who, news.device, compare, verify, held) : notices.verifiedNewDevice(who, news.device, compare, verify, held);
  }
  return news.kind === "changed" ? notices.securityCodeChanged(who, news.device, ctx.network, compare) : notices.newDevice(who, news.device, compare);
}

/**
 * Posts what the user has not been told about the contact's identities, as the contact's puppet. Returns whether
 * there was anything (the caller's fallback for networks without RemoteSafety uses that).
 */
export async function announceIdentityNews(ctx: CoreContext, matrixUser: string, contact: string, roomId: string): Promise<boolean> {
  const safety = ctx.remote.safety;
  if (!safety) return false;
  const news = await safety.identityNews(matrixUser, contact);
  if (news.length === 0) return false;
  const held = ctx.config.bridge.identity_change === "block_until_verified";
  for (const n of news) {
    await ctx.noticeAsPuppet(contact, roomId, sentence(ctx, contact, n, held && n.wasVerified), `idn-${n.ref}`);
  }
  await safety.identityNewsTold(matrixUser, contact, news);
  ctx.log.info({ changes: news.length }, "told the user about a contact's identity change");
  return true;
}
