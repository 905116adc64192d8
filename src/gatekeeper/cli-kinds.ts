// `user send` options for the kinds beyond text, files and protocol messages: stickers, video notes, locations,
// contact cards, polls and pins, and a text's mentions, forwarded flag and link preview.
import type { SendRequest } from "./sim/compose.js";

// The options themselves are spelled out in cli.ts's parse call (node:util's types need them literally there):
// sticker, animated, video-note, location, address, live, contact (multiple), poll, option (multiple), max-selections, pin,
// unpin, vote, mention (multiple), forwarded, preview, title, description, view-once, as-edited, with-caption-wrapper.

export const KIND_USAGE = `  user send PHONE --to URI --sticker FILE.webp [--animated] | --location LAT,LON [--name N] [--address A] [--live]
        | --contact "NAME:+PHONE" [--contact ...] | --poll QUESTION --option A --option B [--max-selections N]
        | --vote POLL_ID [--option A ...] (no --option takes the vote back) | --pin ID | --unpin ID
  user send PHONE --to URI TEXT [--mention URI ...] [--forwarded] [--preview URL [--title T] [--description D]]
        with --file a video: [--video-note]
        wrapped as WhatsApp's apps do: --view-once (--file image or video), --as-edited (editedMessage),
        --with-caption-wrapper (--file --kind document: documentWithCaptionMessage)`;

export class KindUsageError extends Error {}

/** The wrapper the options ask for (at most one). */
export function wrapOf(v: { "view-once"?: boolean | undefined; "as-edited"?: boolean | undefined; "with-caption-wrapper"?: boolean | undefined }): SendRequest["wrap"] {
  const asked = [v["view-once"] && "view_once", v["as-edited"] && "edited", v["with-caption-wrapper"] && "document_with_caption"].filter((w): w is "view_once" | "edited" | "document_with_caption" => typeof w === "string");
  if (asked.length > 1) throw new KindUsageError("--view-once, --as-edited and --with-caption-wrapper go one at a time");
  return asked[0];
}

type Values = {
  sticker?: string | undefined;
  animated?: boolean | undefined;
  "video-note"?: boolean | undefined;
  location?: string | undefined;
  name?: string | undefined;
  address?: string | undefined;
  live?: boolean | undefined;
  contact?: string[] | undefined;
  poll?: string | undefined;
  option?: string[] | undefined;
  "max-selections"?: string | undefined;
  pin?: string | undefined;
  unpin?: string | undefined;
  vote?: string | undefined;
};

/** The request for one of these kinds, or undefined when the options name none of them. */
export function kindRequest(to: string, v: Values, sticker: (path: string) => NonNullable<SendRequest["media"]>): SendRequest | undefined {
  if (v.animated && v.sticker === undefined) throw new KindUsageError("--animated goes with --sticker");
  if (v.sticker !== undefined) return { to, media: { ...sticker(v.sticker), kind: "image", sticker: true, ...(v.animated ? { animated: true } : {}) } };
  if (v.location !== undefined) {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(v.location);
    if (!m) throw new KindUsageError("--location takes LAT,LON, e.g. 52.52,13.405");
    return { to, location: { latitude: Number(m[1]), longitude: Number(m[2]), ...(v.name ? { name: v.name } : {}), ...(v.address ? { address: v.address } : {}), ...(v.live ? { live: true } : {}) } };
  }
  if (v.contact?.length) return { to, contacts: v.contact.map(contactCard) };
  if (v.poll !== undefined) {
    if (!v.option?.length) throw new KindUsageError("--poll needs at least one --option");
    const max = v["max-selections"];
    if (max !== undefined && !/^\d+$/.test(max)) throw new KindUsageError("--max-selections must be a non-negative integer");
    return { to, poll: { question: v.poll, options: v.option, ...(max !== undefined ? { maxSelections: Number(max) } : {}) } };
  }
  if (v.vote !== undefined) return { to, vote: { poll: v.vote.toUpperCase(), options: v.option ?? [] } };
  if (v.pin !== undefined) return { to, pin: { id: v.pin.toUpperCase(), pinned: true } };
  if (v.unpin !== undefined) return { to, pin: { id: v.unpin.toUpperCase(), pinned: false } };
  return undefined;
}

/** "Bob Builder:+49 151 99999999" -> a vCard 3.0 with that name and number. */
function contactCard(spec: string): { name: string; vcard: string } {
  const colon = spec.lastIndexOf(":");
  if (colon <= 0) throw new KindUsageError('--contact takes "NAME:+PHONE"');
  const name = spec.slice(0, colon).trim();
  const phone = spec.slice(colon + 1).trim();
  const digits = phone.replace(/\D/g, "");
  return { name, vcard: ["BEGIN:VCARD", "VERSION:3.0", `FN:${name}`, `TEL;type=CELL;waid=${digits}:${phone}`, "END:VCARD"].join("\n") };
}

/** A text's mentions, forwarded flag and preview, from the options. */
export function textExtras(v: { mention?: string[] | undefined; forwarded?: boolean | undefined; preview?: string | undefined; title?: string | undefined; description?: string | undefined }): Partial<SendRequest> {
  return {
    ...(v.mention?.length ? { mentions: v.mention } : {}),
    ...(v.forwarded ? { forwarded: true } : {}),
    ...(v.preview ? { preview: { url: v.preview, ...(v.title ? { title: v.title } : {}), ...(v.description ? { description: v.description } : {}) } } : {}),
  };
}
