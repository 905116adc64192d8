// Polls: WhatsApp's poll creation (in any of its three fields) becomes the core's poll event. Votes travel encrypted
// with a secret of the poll's (pollUpdateMessage), which this bridge does not hold: they are named, not counted.
import type { RemoteEvent } from "../../../core/events.js";
import { pollOf } from "../../../protocol/content-kinds.js";
import type { Message } from "../../../protocol/gen/content_pb.js";
import { contextOf } from "./context.js";

export function pollEvent(m: Message): RemoteEvent | undefined {
  const poll = pollOf(m);
  if (poll) return { kind: "poll", question: poll.name, options: poll.options.map((o) => o.optionName), maxSelections: poll.selectableOptionsCount, ...contextOf(poll.contextInfo) };
  if (m.pollUpdateMessage) return { kind: "unsupported", what: "a vote in a poll (votes are not bridged)" };
  return undefined;
}
