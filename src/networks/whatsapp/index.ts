// WhatsApp over the interop protocol: what the core needs to know of the network besides its transport (identities,
// text markup, content codec, wording). The transport is the interop client (src/interop/, src/app/interop-side.ts).
export { whatsAppCodec } from "./codec.js";
export { whatsAppDialect } from "./dialect.js";
export { whatsAppIds } from "./ids.js";
export { isWhatsAppMedia, mediaMessageOf, whatsAppMedia, type MessageInit } from "./media-message.js";
export { whatsAppPhrases } from "./phrases.js";
