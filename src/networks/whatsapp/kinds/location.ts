// Locations: WhatsApp's locationMessage (a place, or a pin dropped on the map) and liveLocationMessage (a shared
// live position, sent again as it moves) <-> the core's location event.
import type { Place, RemoteEvent } from "../../../core/events.js";
import type { LiveLocationMessage, LocationMessage, Message } from "../../../protocol/gen/content_pb.js";
import type { MessageInit } from "../media-message.js";
import { contextOf } from "./context.js";

export function locationEvent(m: Message): RemoteEvent | undefined {
  const l = m.locationMessage;
  if (l) return { kind: "location", place: placeOf(l), live: l.isLive, ...(l.comment ? { caption: l.comment } : {}), ...reply(l), ...contextOf(l.contextInfo) };
  const live = m.liveLocationMessage;
  if (live) return { kind: "location", place: placeOf(live), live: true, ...(live.caption ? { caption: live.caption } : {}), ...reply(live), ...contextOf(live.contextInfo) };
  return undefined;
}

function placeOf(l: LocationMessage | LiveLocationMessage): Place {
  const place: Place = { latitude: l.degreesLatitude, longitude: l.degreesLongitude };
  if ("name" in l && l.name) place.name = l.name;
  if ("address" in l && l.address) place.address = l.address;
  if ("url" in l && l.url) place.url = l.url;
  if (l.accuracyInMeters > 0) place.accuracyMeters = l.accuracyInMeters;
  return place;
}

function reply(l: { contextInfo?: { stanzaId: string } | undefined }): { replyTo?: string } {
  return l.contextInfo?.stanzaId ? { replyTo: l.contextInfo.stanzaId } : {};
}

export function locationMessage(place: Place, quote?: { stanzaId: string; participant: string }): MessageInit {
  return {
    locationMessage: {
      degreesLatitude: place.latitude,
      degreesLongitude: place.longitude,
      ...(place.name ? { name: place.name } : {}),
      ...(place.address ? { address: place.address } : {}),
      ...(place.url ? { url: place.url } : {}),
      ...(place.accuracyMeters ? { accuracyInMeters: Math.round(place.accuracyMeters) } : {}),
      ...(quote ? { contextInfo: quote } : {}),
    },
  };
}
