// A contact's location: m.location with a geo: URI (stable spec) and the MSC3488 extensible-event fields that
// location-aware clients read. A live location is posted the same way each time it moves, marked as live.
import type { Place, RemoteEvent } from "../events.js";
import { postMessage, quotedHere, type IncomingCall } from "./call.js";
import { decorate } from "./decorations.js";

export async function locationToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "location" }>): Promise<void> {
  const content: Record<string, unknown> = locationContent(ev.place, ev.live, ev.caption, call.entry.timestamp);
  const quoted = ev.replyTo ? await quotedHere(call, ev.replyTo) : undefined;
  if (quoted) content["m.relates_to"] = { "m.in_reply_to": { event_id: quoted.eventId } };
  await postMessage(call, decorate(call, content, ev));
}

export function geoUri(p: Place): string {
  return `geo:${p.latitude},${p.longitude}${p.accuracyMeters ? `;u=${p.accuracyMeters}` : ""}`;
}

export function locationContent(place: Place, live: boolean, caption: string | undefined, ts: number): Record<string, unknown> {
  const uri = geoUri(place);
  const title = live ? "📍 Live location" : "📍 Location";
  const lines = [place.name ? `${title}: ${place.name}` : title, place.address, caption, place.url, uri].filter((l): l is string => !!l);
  const body = lines.join("\n");
  const description = [place.name, place.address].filter(Boolean).join(", ");
  return {
    msgtype: "m.location",
    body,
    geo_uri: uri,
    "org.matrix.msc3488.location": { uri, ...(description ? { description } : {}) },
    // m.pin: a place chosen on the map; m.self: where the sender is (a live location always is).
    "org.matrix.msc3488.asset": { type: live || !place.name ? "m.self" : "m.pin" },
    "org.matrix.msc3488.ts": ts,
    "org.matrix.msc1767.text": body,
  };
}
