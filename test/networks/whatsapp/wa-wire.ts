// Messages built exactly as WhatsApp's own schema (waE2E, as published by open-source clients) defines them, field
// number by field number, with no use of this project's content.proto: a compatibility test decodes these and so
// checks our schema against WhatsApp's rather than against itself. Only the wire writer of protobuf-es is used.
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { pad } from "../../../src/protocol/padding.js";

export type WaValue = string | number | boolean | bigint | Uint8Array | WaField[] | { double: number } | { float: number };
export type WaField = [field: number, value: WaValue];

/** WhatsApp's field numbers for the messages the tests build (waE2E.Message and friends). */
export const WA = {
  Message: {
    conversation: 1, imageMessage: 3, contactMessage: 4, locationMessage: 5, extendedTextMessage: 6, documentMessage: 7,
    audioMessage: 8, videoMessage: 9, protocolMessage: 12, contactsArrayMessage: 13, liveLocationMessage: 18,
    stickerMessage: 26, messageContextInfo: 35, viewOnceMessage: 37, ephemeralMessage: 40, reactionMessage: 46,
    pollCreationMessage: 49, pollUpdateMessage: 50, documentWithCaptionMessage: 53, viewOnceMessageV2: 55,
    editedMessage: 58, viewOnceMessageV2Extension: 59, pollCreationMessageV2: 60, pinInChatMessage: 63,
    pollCreationMessageV3: 64, ptvMessage: 66,
  },
  FutureProofMessage: { message: 1 },
  MessageContextInfo: { messageSecret: 3 },
  MessageKey: { remoteJID: 1, fromMe: 2, ID: 3, participant: 4 },
  ContextInfo: { stanzaID: 1, participant: 2, quotedMessage: 3, remoteJID: 4, mentionedJID: 15, forwardingScore: 21, isForwarded: 22, expiration: 25, ephemeralSettingTimestamp: 26 },
  ExtendedTextMessage: { text: 1, matchedText: 2, description: 5, title: 6, previewType: 10, JPEGThumbnail: 16, contextInfo: 17 },
  ImageMessage: { URL: 1, mimetype: 2, caption: 3, fileSHA256: 4, fileLength: 5, height: 6, width: 7, mediaKey: 8, fileEncSHA256: 9, directPath: 11, mediaKeyTimestamp: 12, contextInfo: 17, viewOnce: 25 },
  VideoMessage: { URL: 1, mimetype: 2, fileSHA256: 3, fileLength: 4, seconds: 5, mediaKey: 6, caption: 7, gifPlayback: 8, height: 9, width: 10, fileEncSHA256: 11, directPath: 13, mediaKeyTimestamp: 14, contextInfo: 17, viewOnce: 20 },
  AudioMessage: { URL: 1, mimetype: 2, fileSHA256: 3, fileLength: 4, seconds: 5, PTT: 6, mediaKey: 7, fileEncSHA256: 8, directPath: 9, mediaKeyTimestamp: 10, contextInfo: 17, viewOnce: 21 },
  DocumentMessage: { URL: 1, mimetype: 2, title: 3, fileSHA256: 4, fileLength: 5, pageCount: 6, mediaKey: 7, fileName: 8, fileEncSHA256: 9, directPath: 10, mediaKeyTimestamp: 11, contextInfo: 17, caption: 20 },
  ProtocolMessage: { key: 1, type: 2, ephemeralExpiration: 4, ephemeralSettingTimestamp: 5, editedMessage: 14, timestampMS: 15 },
  ProtocolMessageType: { REVOKE: 0, EPHEMERAL_SETTING: 3, MESSAGE_EDIT: 14 },
  ReactionMessage: { key: 1, text: 2, senderTimestampMS: 4 },
  StickerMessage: { URL: 1, fileSHA256: 2, fileEncSHA256: 3, mediaKey: 4, mimetype: 5, height: 6, width: 7, directPath: 8, fileLength: 9, mediaKeyTimestamp: 10, isAnimated: 13, pngThumbnail: 16, contextInfo: 17 },
  LocationMessage: { degreesLatitude: 1, degreesLongitude: 2, name: 3, address: 4, URL: 5, isLive: 6, accuracyInMeters: 7, comment: 11, JPEGThumbnail: 16, contextInfo: 17 },
  LiveLocationMessage: { degreesLatitude: 1, degreesLongitude: 2, accuracyInMeters: 3, speedInMps: 4, caption: 6, sequenceNumber: 7, contextInfo: 17 },
  ContactMessage: { displayName: 1, vcard: 16, contextInfo: 17 },
  ContactsArrayMessage: { displayName: 1, contacts: 2, contextInfo: 17 },
  PollCreationMessage: { encKey: 1, name: 2, options: 3, selectableOptionsCount: 4, contextInfo: 5 },
  PollOption: { optionName: 1 },
  PollUpdateMessage: { pollCreationMessageKey: 1, vote: 2, senderTimestampMS: 4 },
  PollEncValue: { encPayload: 1, encIV: 2 },
  PinInChatMessage: { key: 1, type: 2, senderTimestampMS: 3 },
  PinType: { PIN_FOR_ALL: 1, UNPIN_FOR_ALL: 2 },
} as const;

export function waMessage(fields: WaField[]): Uint8Array {
  const w = new BinaryWriter();
  write(w, fields);
  return w.finish();
}

/** A whole padded Content carrying the WhatsApp message (Content.message = 1), as a gatekeeper delivers it. */
export function waContent(message: WaField[], padding = 1): Uint8Array {
  return pad(waMessage([[1, message]]), padding);
}

function write(w: BinaryWriter, fields: WaField[]): void {
  for (const [n, v] of fields) {
    if (typeof v === "string") w.tag(n, WireType.LengthDelimited).string(v);
    else if (typeof v === "boolean") w.tag(n, WireType.Varint).bool(v);
    else if (typeof v === "number") w.tag(n, WireType.Varint).uint64(v);
    else if (typeof v === "bigint") w.tag(n, WireType.Varint).uint64(v);
    else if (v instanceof Uint8Array) w.tag(n, WireType.LengthDelimited).bytes(v);
    else if (Array.isArray(v)) w.tag(n, WireType.LengthDelimited).bytes(waMessage(v));
    else if ("double" in v) w.tag(n, WireType.Bit64).double(v.double);
    else w.tag(n, WireType.Bit32).float(v.float);
  }
}

/** The media fields every WhatsApp media message carries, for a message type's field numbers. */
export function waMediaFields(numbers: { mediaKey: number; fileSHA256: number; fileEncSHA256: number; directPath: number; mimetype: number; fileLength: number; mediaKeyTimestamp: number }, mimetype: string): WaField[] {
  return [
    [numbers.mimetype, mimetype],
    [numbers.mediaKey, new Uint8Array(32).fill(7)],
    [numbers.fileSHA256, new Uint8Array(32).fill(8)],
    [numbers.fileEncSHA256, new Uint8Array(32).fill(9)],
    [numbers.directPath, "/v1/media/abc"],
    [numbers.fileLength, 1234],
    [numbers.mediaKeyTimestamp, 1_700_000_000],
  ];
}
