// WhatsApp users are phone numbers: contact IDs are tel: URIs (E.164), puppets are keyed by the E.164 number, and
// a Matrix user of the bridge is `matrix:u/<user ID>` on the interop network.
import { ProtocolError } from "../../protocol/errors.js";
import { formatPhoneInternational, matrixUri, normalisePhoneNumber, parseUri, telUri, validPhoneNumber } from "../../protocol/uri.js";
import { InputError, type ContactIds } from "../../core/ports.js";

export const whatsAppIds: ContactIds = {
  parse(input, defaultCountry) {
    try {
      return telUri(normalisePhoneNumber(input, defaultCountry));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      throw new InputError(`"${input}" is not a phone number I can use: ${err.message}. Write it with the country code, for example +49 151 12345678.`);
    }
  },
  fromPuppetKey(key) {
    const e164 = validPhoneNumber(key.startsWith("+") ? key : `+${key}`);
    return e164 === null ? null : telUri(e164);
  },
  puppetKey: (contact) => e164Of(contact),
  label: (contact) => formatPhoneInternational(e164Of(contact)),
  isContact(id) {
    try {
      return parseUri(id).kind === "tel";
    } catch {
      return false;
    }
  },
  localUser: (matrixUserId) => matrixUri(matrixUserId),
};

function e164Of(contact: string): string {
  const p = parseUri(contact);
  if (p.kind !== "tel") throw new Error(`not a phone-number URI: ${contact}`);
  return p.e164;
}
