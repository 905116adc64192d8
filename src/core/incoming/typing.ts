// A contact is typing (or recording): the puppet types in the portal, for at most 30 seconds without news.
import type { RemoteEvent } from "../events.js";
import type { IncomingCall } from "./call.js";

const TYPING_TIMEOUT_MS = 30_000;

export async function typingToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "typing" }>): Promise<void> {
  await call.ctx.matrix.setTyping(call.puppet, call.roomId, ev.typing, TYPING_TIMEOUT_MS);
}
