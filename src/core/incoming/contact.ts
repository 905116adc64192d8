// A contact's contact card(s): Matrix has no contact event, so each card is a text message that reads well (name,
// numbers, e-mail) and carries the vCard itself in the event, for clients and bots that want it.
import type { ContactCard, RemoteEvent } from "../events.js";
import { postMessage, quotedHere, type IncomingCall } from "./call.js";
import { decorate } from "./decorations.js";

/** The field the vCard text travels in (no Matrix convention exists; named after the bridge's own namespace). */
export const VCARD_FIELD = "fi.mdb.vcard";

export async function contactToMatrix(call: IncomingCall, ev: Extract<RemoteEvent, { kind: "contact" }>): Promise<void> {
  const quoted = ev.replyTo ? await quotedHere(call, ev.replyTo) : undefined;
  const body = ev.cards.map(readableCard).join("\n\n");
  const content: Record<string, unknown> = { msgtype: "m.text", body, [VCARD_FIELD]: ev.cards.map((c) => c.vcard) };
  if (quoted) content["m.relates_to"] = { "m.in_reply_to": { event_id: quoted.eventId } };
  await postMessage(call, decorate(call, content, ev));
}

/** "👤 Anna Example", then one line per phone number and e-mail address of the vCard. */
export function readableCard(card: ContactCard): string {
  const fields = parseVcard(card.vcard);
  const name = card.name || fields.find((f) => f.name === "FN")?.value || "(no name)";
  const lines = [`👤 ${name}`];
  for (const f of fields) {
    const label = f.params.find((p) => /^(type=)?(cell|home|work|mobile|main)$/i.test(p))?.replace(/^type=/i, "").toLowerCase();
    if (f.name === "TEL") lines.push(`📞 ${f.value}${label ? ` (${label})` : ""}`);
    else if (f.name === "EMAIL") lines.push(`✉️ ${f.value}`);
    else if (f.name === "ORG") lines.push(`🏢 ${f.value.replace(/;+$/, "").replace(/;/g, ", ")}`);
  }
  return lines.join("\n");
}

interface VcardField {
  name: string;
  params: string[];
  value: string;
}

/** The few fields worth showing, read leniently: unfolded lines, "item1." groups and parameters dropped. */
function parseVcard(text: string): VcardField[] {
  const unfolded = text.replace(/\r?\n[ \t]/g, "");
  const out: VcardField[] = [];
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const [rawName = "", ...params] = line.slice(0, colon).split(";");
    const name = rawName.replace(/^item\d+\./i, "").toUpperCase();
    const value = line.slice(colon + 1).replace(/\\([,;\\])/g, "$1").replace(/\\n/gi, " ").trim();
    if (value) out.push({ name, params, value });
  }
  return out;
}
