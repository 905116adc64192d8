// Interop content -> Matrix event content.
import type { Content } from "../protocol/gen/content_pb.js";
import type { MatrixContent } from "./ports.js";

export type ToMatrixResult =
  | { kind: "message"; eventType: string; content: MatrixContent }
  | { kind: "receipt"; receiptType: "delivered" | "read" | "played"; messageIds: string[] }
  | { kind: "typing"; typing: boolean }
  | { kind: "unsupported"; what: string };

export function contentToMatrix(c: Content): ToMatrixResult {
  if (c.message) {
    const m = c.message;
    if (m.conversation) return text(m.conversation);
    if (m.extendedTextMessage?.text) return text(m.extendedTextMessage.text);
    const what = m.imageMessage
      ? "an image"
      : m.videoMessage
        ? "a video"
        : m.audioMessage
          ? m.audioMessage.ptt ? "a voice note" : "an audio file"
          : m.documentMessage
            ? "a file"
            : m.reactionMessage
              ? "a reaction"
              : m.protocolMessage
                ? "an edit or deletion"
                : "a message of a kind this bridge does not know";
    return { kind: "unsupported", what };
  }
  if (c.receipt) {
    const t = c.receipt.type;
    return { kind: "receipt", receiptType: t === 1 ? "read" : t === 2 ? "played" : "delivered", messageIds: [...c.receipt.messageIds] };
  }
  if (c.chatState) return { kind: "typing", typing: c.chatState.state === 0 };
  return { kind: "unsupported", what: "an empty message" };
}

function text(body: string): ToMatrixResult {
  return { kind: "message", eventType: "m.room.message", content: { msgtype: "m.text", body } };
}
