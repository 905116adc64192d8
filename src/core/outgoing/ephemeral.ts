// The Matrix user's typing and public read receipts, passed on as chat state and read receipts.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEphemeralEvent } from "../events.js";
import { queueSignal } from "./queue.js";

export async function typingToRemote(ctx: CoreContext, portal: PortalRow, roomId: string, ev: MatrixEphemeralEvent): Promise<void> {
  const ids = Array.isArray(ev.content.user_ids) ? (ev.content.user_ids as unknown[]) : [];
  const typing = ids.includes(portal.matrixUser);
  if ((ctx.typingState.get(roomId) ?? false) === typing) return;
  ctx.typingState.set(roomId, typing);
  if (!await remoteReady(ctx, portal.matrixUser)) return;
  await queueSignal(ctx, portal, { kind: "typing", typing });
}

export async function receiptToRemote(ctx: CoreContext, portal: PortalRow, roomId: string, ev: MatrixEphemeralEvent): Promise<void> {
  if (!ctx.config.bridge.send_read_receipts) return;
  let readUpTo = 0;
  for (const [eventId, byType] of Object.entries(ev.content)) {
    // m.read.private stays private by design: only public read receipts are passed on.
    const reads = (byType as Record<string, Record<string, unknown>> | undefined)?.["m.read"];
    if (!reads || !(portal.matrixUser in reads)) continue;
    const mapped = await ctx.store.messages.byEventId(roomId, eventId);
    if (mapped) readUpTo = Math.max(readUpTo, mapped.timestamp);
  }
  if (readUpTo === 0) return;
  const since = await ctx.store.readMarkers.get(roomId);
  const ids = (await ctx.store.messages.upTo(roomId, "in", readUpTo, 1000))
    .filter((m) => m.timestamp > since)
    .map((m) => m.messageId);
  if (ids.length === 0 || !(await remoteReady(ctx, portal.matrixUser))) return;
  await ctx.store.transaction(async () => {
    await queueSignal(ctx, portal, { kind: "receipt", receipt: "read", messageIds: ids });
    await ctx.store.readMarkers.set(roomId, readUpTo);
  });
}

async function remoteReady(ctx: CoreContext, matrixUser: string): Promise<boolean> {
  return (await ctx.store.users.get(matrixUser))?.keysUploadedAt != null;
}
