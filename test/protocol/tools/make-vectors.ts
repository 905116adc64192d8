// Writes test/protocol/vectors.json from fixed inputs. The vectors are frozen once released: this script refuses to
// overwrite the file unless given --force, and any change to it must be a deliberate, reviewed protocol change.
// Outputs were cross-checked against independent implementations with test/protocol/tools/crosscheck-vectors.py.
//
//   node dist/test/protocol/tools/make-vectors.js [--force]
import { existsSync, writeFileSync } from "node:fs";
import { create, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  EnvelopeSchema,
  EnvelopeType,
  ErrorCode,
  ServerFrameSchema,
} from "../../../src/protocol/gen/interop_pb.js";
import { ChatState_State, ContentSchema, PinInChatMessage_Type, ProtocolMessage_Type, Receipt_Type } from "../../../src/protocol/gen/content_pb.js";
import { optionHash, sealVote } from "../../../src/protocol/poll-vote-crypto.js";
import { encodeContent } from "../../../src/protocol/content.js";
import { encodeEnvelope } from "../../../src/protocol/envelope.js";
import { encodeClientFrame, encodeServerFrame } from "../../../src/protocol/frames.js";
import { encryptMedia, expandMediaKey, MEDIA_KINDS } from "../../../src/protocol/media-crypto.js";
import { messageIdToString } from "../../../src/protocol/message-id.js";
import { pad } from "../../../src/protocol/padding.js";
import { PROTOCOL_VERSION } from "../../../src/protocol/limits.js";
import { formatPhoneInternational, matrixUri, normalisePhoneNumber, telUri } from "../../../src/protocol/uri.js";
import { toBinary, type DescMessage } from "@bufbuild/protobuf";
import { BlockListSchema, ReportReason, ReportReceiptSchema, ReportSchema } from "../../../src/protocol/gen/interop_pb.js";
import { encodeBlockList, encodeReport, encodeReportReceipt } from "../../../src/protocol/safety.js";
import {
  hex,
  jsonOptions,
  vectorsPath,
  type ContentVector,
  type ProtobufVector,
  type RejectVector,
  type Vectors,
} from "../vectors-model.js";

const bytes = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

const ID = bytes(16); // 000102…0F
const ID_STRING = messageIdToString(ID);
const OTHER_ID_STRING = messageIdToString(bytes(16, 0x10));
const ALICE = "matrix:u/alice:example.org";
const BOB = "tel:+4915112345678";
const T = 1_767_225_600_000n; // 2026-01-01T00:00:00Z

const envelopeInit = {
  version: 1,
  id: ID,
  timestampMs: T,
  sender: ALICE,
  senderDevice: 1,
  recipient: BOB,
  recipientDevice: 2,
  type: EnvelopeType.PREKEY_MESSAGE,
  ciphertext: Uint8Array.from([0x33, 0x0a, 0x21, 0x05, 0xc1, 0xc2, 0xc3, 0xc4]),
  recipientRegistrationId: 0x1234,
} satisfies MessageInitShape<typeof EnvelopeSchema>;
const inboundEnvelope: MessageInitShape<typeof EnvelopeSchema> = {
  version: 1,
  id: bytes(16, 0x10),
  timestampMs: T + 1000n,
  sender: BOB,
  senderDevice: 2,
  recipient: ALICE,
  recipientDevice: 1,
  type: EnvelopeType.MESSAGE,
  ciphertext: Uint8Array.from([0x33, 0x0a, 0x21, 0x05, 0xd1, 0xd2]),
  recipientRegistrationId: 0x0abc,
};

const protobuf: ProtobufVector[] = [];

function envelopeVector(): void {
  const message = create(EnvelopeSchema, envelopeInit);
  protobuf.push({
    name: "envelope",
    description: "Alice's bridge (device 1) to Bob's device 2: a PreKey message with a placeholder ciphertext.",
    type: EnvelopeSchema.typeName,
    json: toJson(EnvelopeSchema, message, jsonOptions),
    hex: hex(encodeEnvelope(envelopeInit)),
  });
}

function clientFrameVector(name: string, description: string, init: MessageInitShape<typeof ClientFrameSchema>): void {
  protobuf.push({
    name,
    description,
    type: ClientFrameSchema.typeName,
    json: toJson(ClientFrameSchema, create(ClientFrameSchema, init), jsonOptions),
    hex: hex(encodeClientFrame(init)),
  });
}

function serverFrameVector(name: string, description: string, init: MessageInitShape<typeof ServerFrameSchema>): void {
  protobuf.push({
    name,
    description,
    type: ServerFrameSchema.typeName,
    json: toJson(ServerFrameSchema, create(ServerFrameSchema, init), jsonOptions),
    hex: hex(encodeServerFrame(init)),
  });
}

envelopeVector();
clientFrameVector("client-send", "Send: one message to Bob's two devices (a PreKey message to 2, a message to 3).", {
  kind: {
    case: "send",
    value: {
      seq: 7n,
      envelopes: [
        envelopeInit,
        { ...envelopeInit, recipientDevice: 3, type: EnvelopeType.MESSAGE, ciphertext: Uint8Array.from([0x33, 0x0a, 0xe1]), recipientRegistrationId: 0x0042 },
      ],
    },
  },
});
clientFrameVector("client-ack", "Ack of the envelope delivered in server-deliver.", {
  kind: { case: "ack", value: { id: bytes(16, 0x10), recipient: ALICE, recipientDevice: 1 } },
});
clientFrameVector("client-ping", "Ping with a nonce.", { kind: { case: "ping", value: { nonce: 42n } } });
serverFrameVector("server-send-result-ok", "The Send with seq 7 was accepted.", {
  kind: { case: "sendResult", value: { seq: 7n, ok: true } },
});
serverFrameVector(
  "server-send-result-stale",
  "The Send with seq 7 was refused: Bob now has devices 2 and 4, device 3 is gone.",
  {
    kind: {
      case: "sendResult",
      value: { seq: 7n, ok: false, code: ErrorCode.STALE_DEVICES, detail: "device list changed", currentDevices: [2, 4] },
    },
  },
);
serverFrameVector("server-send-result-rate-limited", "The Send with seq 8 was refused: retry after 1.5 s.", {
  kind: { case: "sendResult", value: { seq: 8n, ok: false, code: ErrorCode.RATE_LIMITED, retryAfterMs: 1500 } },
});
serverFrameVector("server-deliver", "Bob's device 2 writes to Alice's bridge device 1.", {
  kind: { case: "deliver", value: { envelope: inboundEnvelope } },
});
serverFrameVector("server-pong", "Pong answering client-ping.", { kind: { case: "pong", value: { nonce: 42n } } });
serverFrameVector("server-error", "A frame could not be processed; the connection stays open.", {
  kind: { case: "error", value: { code: ErrorCode.INVALID, detail: "frame has no kind", seq: 0n } },
});
serverFrameVector("server-prekeys-low", "The gatekeeper holds only 5 one-time prekeys for Alice.", {
  kind: { case: "prekeysLow", value: { user: ALICE, remaining: 5 } },
});
serverFrameVector("server-devices-changed", "Bob's devices are now 2 and 4.", {
  kind: { case: "devicesChanged", value: { user: BOB, devices: [2, 4] } },
});

// Safety bodies (§7.5): what travels as JSON over HTTPS, with its binary form.
const CAROL = "tel:+12025550123";
function safetyVector<D extends DescMessage>(name: string, description: string, schema: D, init: MessageInitShape<D>, encode: (init: MessageInitShape<D>) => Uint8Array): void {
  protobuf.push({ name, description, type: schema.typeName, json: toJson(schema, create(schema, init), jsonOptions), hex: hex(encode(init)) });
}
safetyVector("block-list", "Alice has blocked Carol and Bob (sorted).", BlockListSchema, { user: ALICE, blocked: [CAROL, BOB] }, encodeBlockList);
safetyVector(
  "report",
  "Alice reports Bob for spam, naming two of his messages.",
  ReportSchema,
  { reporter: ALICE, reported: BOB, messageIds: [bytes(16, 0x10), bytes(16, 0x20)], reason: ReportReason.SPAM, comment: "unsolicited offers" },
  encodeReport,
);
safetyVector("report-receipt", "The gatekeeper's reference for Alice's report.", ReportReceiptSchema, { id: "r-42" }, encodeReportReceipt);

const content: ContentVector[] = [];
function contentVector(name: string, description: string, init: MessageInitShape<typeof ContentSchema>, padding: number): void {
  const message = create(ContentSchema, init);
  content.push({
    name,
    description,
    json: toJson(ContentSchema, message, jsonOptions),
    padding,
    hex: hex(encodeContent(init, { padding })),
  });
}

contentVector("content-text", "Plain text, padded with 3 bytes.", { message: { conversation: "Hello from Matrix" } }, 3);
contentVector(
  "content-reply",
  "A reply: extended text quoting message 1011…1F by Bob.",
  {
    message: {
      extendedTextMessage: {
        text: "Yes!",
        contextInfo: { stanzaId: OTHER_ID_STRING, participant: BOB, quotedMessage: { conversation: "Coffee?" } },
      },
    },
  },
  1,
);
contentVector(
  "content-reaction",
  "Alice reacts with a thumbs-up to Bob's message 1011…1F.",
  {
    message: {
      reactionMessage: { key: { remoteJid: BOB, fromMe: false, id: OTHER_ID_STRING }, text: "👍", senderTimestampMs: T },
    },
  },
  5,
);
contentVector(
  "content-edit",
  "Alice edits her message 0001…0F.",
  {
    message: {
      protocolMessage: {
        key: { remoteJid: BOB, fromMe: true, id: ID_STRING },
        type: ProtocolMessage_Type.MESSAGE_EDIT,
        editedMessage: { conversation: "Hello from Matrix (edited)" },
        timestampMs: T + 60_000n,
      },
    },
  },
  2,
);
contentVector(
  "content-revoke",
  "Alice deletes her message 0001…0F for everyone.",
  {
    message: {
      protocolMessage: { key: { remoteJid: BOB, fromMe: true, id: ID_STRING }, type: ProtocolMessage_Type.REVOKE, timestampMs: T + 120_000n },
    },
  },
  4,
);
contentVector(
  "content-receipt",
  "Bob has read two of Alice's messages.",
  { receipt: { type: Receipt_Type.READ, messageIds: [ID_STRING, OTHER_ID_STRING], timestampMs: T + 5_000n } },
  15,
);
contentVector("content-chat-state", "Bob is typing.", { chatState: { state: ChatState_State.COMPOSING } }, 7);

// Media: key 00..1F, plaintext a short text, one vector per kind; the image message below refers to the image one.
const MEDIA_KEY = bytes(32);
const MEDIA_PLAINTEXT = new TextEncoder().encode("interop protocol v1 media test vector\n");
const image = encryptMedia(MEDIA_PLAINTEXT, "image", MEDIA_KEY);
contentVector(
  "content-image",
  "An image message for the image media vector (direct_path as the gatekeeper's media service assigns it).",
  {
    message: {
      imageMessage: {
        mimetype: "image/jpeg",
        caption: "A picture",
        fileSha256: image.fileSha256,
        fileLength: BigInt(image.fileLength),
        height: 480,
        width: 640,
        mediaKey: MEDIA_KEY,
        fileEncSha256: image.fileEncSha256,
        directPath: "/v1/media/0123456789abcdef",
      },
    },
  },
  9,
);
// Added with content kinds beyond v1's first set (compatible growth): a disappearing chat, WhatsApp's own IDs, places.
contentVector(
  "content-disappearing-text",
  "Bob's text in a chat with a 7-day disappearing timer: inside ephemeral_message, the timer in ContextInfo.expiration.",
  { message: { ephemeralMessage: { message: { extendedTextMessage: { text: "gone in a week", contextInfo: { expiration: 604800 } } } } } },
  6,
);
contentVector(
  "content-disappearing-timer",
  "Alice turns on disappearing messages for 24 hours (EPHEMERAL_SETTING, no key).",
  { message: { protocolMessage: { type: ProtocolMessage_Type.EPHEMERAL_SETTING, ephemeralExpiration: 86400, ephemeralSettingTimestamp: T / 1000n } } },
  3,
);
contentVector(
  "content-reaction-whatsapp-id",
  "Bob reacts to a message a WhatsApp client sent, by that client's own message ID.",
  { message: { reactionMessage: { key: { remoteJid: BOB, fromMe: false, id: "3EB0C431C26A1916E07E" }, text: "👍", senderTimestampMs: T } } },
  8,
);
contentVector(
  "content-location",
  "Bob shares a place.",
  { message: { locationMessage: { degreesLatitude: 52.520008, degreesLongitude: 13.404954, name: "Fernsehturm", address: "Panoramastraße 1A, Berlin" } } },
  10,
);
// Added with polls, contacts and pins (compatible growth). The vote is sealed as §10.1.3 says, from fixed inputs.
const POLL_SECRET = bytes(32, 0x20);
contentVector(
  "content-poll",
  "Bob's poll (poll_creation_message_v3): one choice of three; its 32-byte secret 2021…3F beside it in message_context_info.",
  {
    message: {
      pollCreationMessageV3: { name: "Lunch?", options: [{ optionName: "Pizza" }, { optionName: "Sushi" }, { optionName: "Pasta" }], selectableOptionsCount: 1 },
      messageContextInfo: { messageSecret: POLL_SECRET },
    },
  },
  4,
);
const vote = sealVote({ pollMessageId: ID_STRING, pollCreator: BOB, voter: ALICE, secret: POLL_SECRET }, [optionHash("Sushi")], new Uint8Array(12).fill(7));
contentVector(
  "content-poll-vote",
  `Alice votes "Sushi" in Bob's poll ${ID_STRING} (secret 2021…3F, IV twelve 07 bytes): the vote sealed with the key HKDF-SHA256 derives for her in that poll.`,
  { message: { pollUpdateMessage: { pollCreationMessageKey: { remoteJid: BOB, fromMe: false, id: ID_STRING }, vote, senderTimestampMs: T } } },
  6,
);
contentVector(
  "content-contact",
  "Bob shares a contact card.",
  { message: { contactMessage: { displayName: "Carol", vcard: "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol\r\nTEL;TYPE=CELL:+4915187654321\r\nEND:VCARD\r\n" } } },
  5,
);
contentVector(
  "content-pin",
  `Alice pins message ${ID_STRING}, which Bob sent.`,
  { message: { pinInChatMessage: { key: { remoteJid: BOB, fromMe: false, id: ID_STRING }, type: PinInChatMessage_Type.PIN_FOR_ALL, senderTimestampMs: T } } },
  2,
);
// Added with stickers, video notes, live locations, contact lists and WhatsApp's wrappers (compatible growth); the
// media fields refer to the media vector of the same kind (key 00..1F).
const mediaFields = (kind: "image" | "video" | "document") => {
  const e = encryptMedia(MEDIA_PLAINTEXT, kind, MEDIA_KEY);
  return { fileSha256: e.fileSha256, fileLength: BigInt(e.fileLength), mediaKey: MEDIA_KEY, fileEncSha256: e.fileEncSha256, directPath: "/v1/media/0123456789abcdef" };
};
contentVector(
  "content-sticker",
  "Bob sends a WebP sticker (sticker_message), for the image media vector.",
  { message: { stickerMessage: { mimetype: "image/webp", height: 512, width: 512, ...mediaFields("image") } } },
  3,
);
contentVector(
  "content-video-note",
  "Bob sends a round video note (ptv_message, a VideoMessage), for the video media vector.",
  { message: { ptvMessage: { mimetype: "video/mp4", seconds: 3, ...mediaFields("video") } } },
  5,
);
contentVector(
  "content-live-location",
  "Bob's live location, its first update.",
  { message: { liveLocationMessage: { degreesLatitude: 52.520008, degreesLongitude: 13.404954, accuracyInMeters: 15, sequenceNumber: 1n } } },
  7,
);
contentVector(
  "content-contacts-array",
  "Bob shares two contact cards at once (contacts_array_message).",
  {
    message: {
      contactsArrayMessage: {
        displayName: "2 contacts",
        contacts: [
          { displayName: "Carol", vcard: "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Carol\r\nTEL;TYPE=CELL:+4915187654321\r\nEND:VCARD\r\n" },
          { displayName: "Dave", vcard: "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Dave\r\nTEL;TYPE=CELL:+4915112345678\r\nEND:VCARD\r\n" },
        ],
      },
    },
  },
  6,
);
contentVector(
  "content-view-once",
  "Bob sends an image to be viewed once: the image message inside view_once_message (a FutureProofMessage).",
  { message: { viewOnceMessage: { message: { imageMessage: { mimetype: "image/jpeg", viewOnce: true, ...mediaFields("image") } } } } },
  4,
);
contentVector(
  "content-edited-wrapper",
  `Bob's edit of his message ${ID_STRING} as WhatsApp's apps send it: the MESSAGE_EDIT inside edited_message.`,
  {
    message: {
      editedMessage: {
        message: { protocolMessage: { key: { remoteJid: ALICE, fromMe: true, id: ID_STRING }, type: ProtocolMessage_Type.MESSAGE_EDIT, editedMessage: { conversation: "Hello, Alice!" }, timestampMs: T } },
      },
    },
  },
  2,
);
contentVector(
  "content-document-with-caption",
  "Bob sends a document with a caption: the document message inside document_with_caption_message, for the document media vector.",
  { message: { documentWithCaptionMessage: { message: { documentMessage: { mimetype: "application/pdf", fileName: "plan.pdf", caption: "The plan", ...mediaFields("document") } } } } },
  8,
);

const rejects: RejectVector[] = [];
function rawEnvelope(overrides: Partial<MessageInitShape<typeof EnvelopeSchema>>): string {
  return hex(toBinary(EnvelopeSchema, create(EnvelopeSchema, { ...envelopeInit, ...overrides })));
}
rejects.push(
  { name: "envelope-version-2", description: "Envelope with version 2.", decoder: "envelope", hex: rawEnvelope({ version: 2 }), code: "unsupported_version" },
  { name: "envelope-id-15-bytes", description: "Envelope whose id has 15 bytes.", decoder: "envelope", hex: rawEnvelope({ id: bytes(15) }), code: "invalid_field" },
  { name: "envelope-device-0", description: "Envelope to device 0.", decoder: "envelope", hex: rawEnvelope({ recipientDevice: 0 }), code: "invalid_field" },
  { name: "envelope-bad-uri", description: "Envelope to a national number.", decoder: "envelope", hex: rawEnvelope({ recipient: "tel:015112345678" }), code: "invalid_field" },
  {
    name: "envelope-truncated",
    description: "The envelope vector without its last byte.",
    decoder: "envelope",
    hex: hex(encodeEnvelope(envelopeInit).subarray(0, -1)),
    code: "truncated",
  },
  { name: "client-frame-empty", description: "A client frame with no kind.", decoder: "client_frame", hex: "", code: "malformed" },
  {
    name: "server-frame-unknown-kind",
    description: "A server frame with only field 15 (a kind this version does not know).",
    decoder: "server_frame",
    hex: "7a00",
    code: "malformed",
  },
  {
    name: "content-bad-padding",
    description: "Text content whose last padding byte says 3 but the byte before it is 2.",
    decoder: "content",
    hex: hex(encodeContent({ message: { conversation: "Hi" } }, { padding: 3 })).slice(0, -4) + "0203",
    code: "malformed",
  },
  {
    name: "content-zero-padding",
    description: "Text content with padding byte 0.",
    decoder: "content",
    hex: hex(toBinary(ContentSchema, create(ContentSchema, { message: { conversation: "Hi" } }))) + "00",
    code: "malformed",
  },
  {
    name: "content-two-parts",
    description: "Content with both a message and a chat state.",
    decoder: "content",
    hex: hex(pad(toBinary(ContentSchema, create(ContentSchema, { message: { conversation: "Hi" }, chatState: {} })), 1)),
    code: "invalid_field",
  },
  {
    name: "report-id-15-bytes",
    description: "A report naming a message ID of 15 bytes.",
    decoder: "report",
    hex: hex(toBinary(ReportSchema, create(ReportSchema, { reporter: ALICE, reported: BOB, messageIds: [bytes(15)], reason: ReportReason.SPAM }))),
    code: "invalid_field",
  },
  {
    name: "report-reporter-tel",
    description: "A report whose reporter is a phone number (only provider users report through this API).",
    decoder: "report",
    hex: hex(toBinary(ReportSchema, create(ReportSchema, { reporter: BOB, reported: BOB, reason: ReportReason.SPAM }))),
    code: "invalid_field",
  },
  {
    name: "block-list-unsorted",
    description: "A block list with a duplicate entry.",
    decoder: "block_list",
    hex: hex(toBinary(BlockListSchema, create(BlockListSchema, { user: ALICE, blocked: [BOB, BOB] }))),
    code: "invalid_field",
  },
);

const vectors: Vectors = {
  comment:
    "Test vectors of interop protocol v1 (docs/interop-protocol.md). Hex is lowercase; protobuf inputs are canonical protobuf JSON with proto field names.",
  protocolVersion: PROTOCOL_VERSION,
  protobuf,
  content,
  padding: [
    { input: "68656c6c6f", n: 1, output: hex(pad(new TextEncoder().encode("hello"), 1)) },
    { input: "68656c6c6f", n: 15, output: hex(pad(new TextEncoder().encode("hello"), 15)) },
    { input: "", n: 4, output: hex(pad(new Uint8Array(0), 4)) },
  ],
  rejects,
  messageIds: [
    { bytes: hex(ID), string: ID_STRING },
    { bytes: "ffeeddccbbaa99887766554433221100", string: messageIdToString(Uint8Array.from(Buffer.from("ffeeddccbbaa99887766554433221100", "hex"))) },
  ],
  uris: [
    { userId: "@alice:example.org", uri: matrixUri("@alice:example.org") },
    { userId: "@alice/work:example.org:8448", uri: matrixUri("@alice/work:example.org:8448") },
    { userId: "@Bob#1:[::1]", uri: matrixUri("@Bob#1:[::1]") },
    { e164: "+4915112345678", uri: telUri("+4915112345678"), international: formatPhoneInternational("+4915112345678") },
    { e164: "+12025550123", uri: telUri("+12025550123"), international: formatPhoneInternational("+12025550123") },
  ],
  phoneNumbers: [
    { input: "+49 151 12345678", e164: normalisePhoneNumber("+49 151 12345678") },
    { input: "0049 151-123 456 78", e164: normalisePhoneNumber("0049 151-123 456 78") },
    { input: "(0151) 12345678", defaultCountry: "DE", e164: normalisePhoneNumber("(0151) 12345678", "DE") },
    { input: "+1 (202) 555-0123", e164: normalisePhoneNumber("+1 (202) 555-0123") },
    { input: "07911 123456", defaultCountry: "GB", e164: normalisePhoneNumber("07911 123456", "GB") },
  ],
  mediaKeys: MEDIA_KINDS.map((kind) => {
    const k = expandMediaKey(MEDIA_KEY, kind);
    return { kind, mediaKey: hex(MEDIA_KEY), iv: hex(k.iv), cipherKey: hex(k.cipherKey), macKey: hex(k.macKey), refKey: hex(k.refKey) };
  }),
  media: MEDIA_KINDS.map((kind) => {
    const e = encryptMedia(MEDIA_PLAINTEXT, kind, MEDIA_KEY);
    return {
      kind,
      mediaKey: hex(MEDIA_KEY),
      plaintext: hex(MEDIA_PLAINTEXT),
      upload: hex(e.upload),
      fileSha256: hex(e.fileSha256),
      fileEncSha256: hex(e.fileEncSha256),
      fileLength: e.fileLength,
    };
  }),
};

if (existsSync(vectorsPath) && !process.argv.includes("--force")) {
  console.error(`${vectorsPath} exists; the vectors are frozen. Pass --force to overwrite deliberately.`);
  process.exit(1);
}
writeFileSync(vectorsPath, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectorsPath}: ${protobuf.length} protobuf, ${content.length} content, ${rejects.length} reject vectors`);
