// View-once media is meant to be seen once and then be gone. A Matrix room keeps what is posted (history, other
// devices, backups), so the bridge cannot honour that: it tells the user instead of posting or silently dropping it.
import type { RemoteEvent } from "../../../core/events.js";
import type { Message } from "../../../protocol/gen/content_pb.js";

export function viewOnceEvent(m: Message): RemoteEvent {
  return { kind: "unsupported", what: `${viewOnceWhat(m)} (view once: it is not kept on Matrix)` };
}

function viewOnceWhat(m: Message): string {
  if (m.imageMessage) return "a view-once photo";
  if (m.videoMessage) return "a view-once video";
  if (m.audioMessage) return "a view-once voice message";
  return "a view-once message";
}
