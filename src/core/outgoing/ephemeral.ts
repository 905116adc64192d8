// The Matrix user's typing and public read receipts, passed on as chat state and read receipts.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEphemeralEvent } from "../events.js";
import { queueSignal } from "./queue.js";

export function typingToRemote(ctx: CoreContext, portal: PortalRow, roomId: string, ev: MatrixEphemeralEvent): void {
  const ids = Array.isArray(ev.content.user_ids) ? (ev.content.user_ids as unknown[]) : [];
  const typing = ids.includes(portal.matrixUser);
  if ((ctx.typingState.get(roomId) ?? false) === typing) return;
  ctx.typingState.set(roomId, typing);
  if (!remoteReady(ctx, portal.matrixUser)) return;
  queueSignal(ctx, portal, { kind: "typing", typing });
}

export function receiptToRemote(ctx: CoreContext, portal: PortalRow, roomId: string, ev: MatrixEphemeralEvent): void {
  if (!ctx.config.bridge.send_read_receipts) return;
  let readUpTo = 0;
  for (const [eventId, byType] of Object.entries(ev.content)) {
    // m.read.private stays private by design: only public read receipts are passed on.
    const reads = (byType as Record<string, Record<string, unknown>> | undefined)?.["m.read"];
    if (!reads || !(portal.matrixUser in reads)) continue;
    const mapped = ctx.store.messages.byEventId(roomId, eventId);
    if (mapped) readUpTo = Math.max(readUpTo, mapped.timestamp);
  }
  if (readUpTo === 0) return;
  const since = ctx.store.readMarkers.get(roomId);
  const ids = ctx.store.messages
    .upTo(roomId, "in", readUpTo, 1000)
    .filter((m) => m.timestamp > since)
    .map((m) => m.messageId);
  if (ids.length === 0 || !remoteReady(ctx, portal.matrixUser)) return;
  ctx.store.transaction(() => {
    queueSignal(ctx, portal, { kind: "receipt", receipt: "read", messageIds: ids });
    ctx.store.readMarkers.set(roomId, readUpTo);
  });
}

function remoteReady(ctx: CoreContext, matrixUser: string): boolean {
  return ctx.store.users.get(matrixUser)?.keysUploadedAt != null;
}
