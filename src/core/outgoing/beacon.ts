// Matrix live location (MSC3672) -> the network: not bridged. The user is told once, when sharing starts
// (a live beacon_info), instead of the beacon updates vanishing without a word.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent } from "../events.js";
import { refuse } from "./queue.js";

export const BEACON_INFO_TYPES = ["org.matrix.msc3672.beacon_info", "m.beacon_info"] as const;
export const BEACON_TYPES = ["org.matrix.msc3672.beacon", "m.beacon"] as const;

function isLive(content: Record<string, unknown>): boolean {
  const info = content["org.matrix.msc3672.beacon_info"] ?? content["m.beacon_info"] ?? content;
  return typeof info === "object" && info !== null && (info as { live?: unknown }).live === true;
}

/** A beacon_info state event: sharing started (live) gets a notice; sharing stopped needs none. */
export async function beaconInfoToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  // The state key is the sharer; the portal's user shares only under their own key.
  if (ev.state_key !== portal.matrixUser || !isLive(ev.content)) return;
  ctx.log.info({ room: ev.room_id, event: ev.event_id }, "not bridging a Matrix live location: it is not supported");
  return refuse(ctx, portal, ev, `live location from Matrix is not bridged to ${ctx.network}; send a location instead`);
}

/** A beacon update of a share whose start was already answered with a notice. */
export async function beaconToRemote(ctx: CoreContext, _portal: PortalRow, ev: MatrixEvent): Promise<void> {
  ctx.log.debug({ room: ev.room_id, event: ev.event_id }, "dropping a Matrix live-location update: live location is not bridged (its start got a notice)");
}
