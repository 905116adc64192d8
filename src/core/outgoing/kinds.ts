// Matrix locations and pins -> the network: m.location (geo: URI, MSC3488 description) becomes a place,
// m.room.pinned_events changes pin or unpin bridged messages. Polls: poll.ts.
import type { PortalRow } from "../../store/portals.js";
import type { CoreContext } from "../context.js";
import type { MatrixEvent, Place } from "../events.js";
import { quotedByMatrixReply } from "../quotable.js";
import { relationOf } from "./message.js";
import { queueForRemote, queueSignal, refOf, refuse } from "./queue.js";

/** "geo:52.52,13.40;u=35" (RFC 5870; altitude and other parameters ignored). */
export function parseGeoUri(uri: string): Pick<Place, "latitude" | "longitude" | "accuracyMeters"> | undefined {
  const m = /^geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)(?:,-?\d+(?:\.\d+)?)?((?:;[^;]*)*)$/i.exec(uri.trim());
  if (!m) return undefined;
  const latitude = Number(m[1]);
  const longitude = Number(m[2]);
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const u = /;u=(\d+(?:\.\d+)?)/i.exec(m[3] ?? "")?.[1];
  return { latitude, longitude, ...(u ? { accuracyMeters: Number(u) } : {}) };
}

export async function locationToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const c = ev.content;
  const msc = c["org.matrix.msc3488.location"] as { uri?: unknown; description?: unknown } | undefined;
  const uri = typeof c.geo_uri === "string" ? c.geo_uri : typeof msc?.uri === "string" ? msc.uri : "";
  const coords = parseGeoUri(uri);
  if (!coords) return refuse(ctx, portal, ev, "the location has no geo: URI the bridge can read");
  const description = typeof msc?.description === "string" && msc.description.trim() ? msc.description.trim() : undefined;
  const asset = (c["org.matrix.msc3488.asset"] as { type?: unknown } | undefined)?.type;
  // A dropped pin has a name worth showing; "my location" has only the generated body ("Location at ...").
  const place: Place = { ...coords, ...(description ? { name: description } : asset === "m.pin" && typeof c.body === "string" ? { name: c.body.split("\n")[0]! } : {}) };
  const target = await quotedByMatrixReply(ctx, ev.room_id, relationOf(c)["m.in_reply_to"]?.event_id);
  await queueForRemote(ctx, portal, ev, { event: { kind: "location", place, ...(target ? { replyTo: refOf(target) } : {}) }, mapAsMessage: true });
}

/** The user changed the pinned messages: each bridged one that was pinned or unpinned is pinned or unpinned there. */
export async function pinsToRemote(ctx: CoreContext, portal: PortalRow, ev: MatrixEvent): Promise<void> {
  const list = (content: unknown) => (Array.isArray((content as { pinned?: unknown } | undefined)?.pinned) ? ((content as { pinned: unknown[] }).pinned.filter((e) => typeof e === "string") as string[]) : []);
  const now = list(ev.content);
  const before = list((ev.unsigned as { prev_content?: unknown } | undefined)?.prev_content);
  const changes = [...now.filter((e) => !before.includes(e)).map((e) => [e, true] as const), ...before.filter((e) => !now.includes(e)).map((e) => [e, false] as const)];
  for (const [eventId, pinned] of changes) {
    const target = await ctx.store.messages.byEventId(ev.room_id, eventId);
    if (!target) continue; // a message that never crossed the bridge cannot be pinned there
    await queueSignal(ctx, portal, { kind: "pin", target: refOf(target), pinned });
  }
}
