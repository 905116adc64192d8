// A contact's poll: an MSC3381 poll start (the unstable event type clients implement), with a text fallback for
// clients that show no polls. Votes are not bridged (WhatsApp encrypts them with a secret of the poll's).
import type { RemoteEvent } from "../events.js";
import { postMessage, type IncomingCall } from "./call.js";

export const POLL_START = "org.matrix.msc3381.poll.start";

export async function pollToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "poll" }>): Promise<void> {
  const text = [`📊 ${ev.question}`, ...ev.options.map((o, i) => `${i + 1}. ${o}`)].join("\n");
  const max = ev.maxSelections > 0 ? Math.min(ev.maxSelections, ev.options.length) : ev.options.length;
  await postMessage(
    call,
    {
      [POLL_START]: {
        question: { "org.matrix.msc1767.text": ev.question, body: ev.question },
        kind: "org.matrix.msc3381.poll.disclosed",
        max_selections: max,
        answers: ev.options.map((o, i) => ({ id: String(i + 1), "org.matrix.msc1767.text": o })),
      },
      "org.matrix.msc1767.text": text,
      body: text,
    },
    call.txn,
    POLL_START,
  );
}
