// Numeric limits of interop protocol v1 (docs/interop-protocol.md, "Limits"). Both sides enforce the same values,
// so a sender never builds what a receiver must reject.

export const PROTOCOL_VERSION = 1;

/** libsignal's ProtocolAddress accepts device IDs 1..127 only, so the wire cannot carry more. */
export const MIN_DEVICE_ID = 1;
export const MAX_DEVICE_ID = 127;

/** libsignal registration IDs are 14-bit; 0 means "the sender does not know it". */
export const MAX_REGISTRATION_ID = 0x3fff;

/** Signal ciphertext of one padded Content. Media travel separately, so this only bounds text and thumbnails. */
export const MAX_CIPHERTEXT_BYTES = 256 * 1024;

/** A padded Content plaintext; leaves room below MAX_CIPHERTEXT_BYTES for the Signal (PQXDH) message overhead. */
export const MAX_CONTENT_BYTES = 192 * 1024;

/** One WebSocket frame. A Send holds at most one envelope per recipient device. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024;
export const MAX_ENVELOPES_PER_SEND = MAX_DEVICE_ID;

/** Interop URIs (tel: or matrix:). A Matrix user ID is at most 255 bytes; percent-encoding can triple a localpart. */
export const MAX_URI_LENGTH = 800;

/** Human-readable `detail` strings in SendResult and Error frames. */
export const MAX_DETAIL_LENGTH = 2048;

/** Envelope timestamps: 2020-01-01T00:00:00Z .. 2100-01-01T00:00:00Z. Clock-skew policy belongs to the receiver. */
export const MIN_TIMESTAMP_MS = 1_577_836_800_000n;
export const MAX_TIMESTAMP_MS = 4_102_444_800_000n;

/** Message IDs listed in one Receipt. */
export const MAX_RECEIPT_IDS = 1024;

/** How deep Messages may nest through quotes (ContextInfo.quoted_message) and edits (edited_message). */
export const MAX_MESSAGE_NESTING = 3;

/** A reaction is one emoji; ZWJ sequences and tag flags make some of them long. */
export const MAX_REACTION_LENGTH = 64;

/** Remote users one provider user may block at the gatekeeper. */
export const MAX_BLOCKS_PER_USER = 10_000;

/** Message IDs named in one Report; a user picks a few recent messages, so this is generous. */
export const MAX_REPORT_MESSAGE_IDS = 100;

/** The free-text comment of a Report. */
export const MAX_REPORT_COMMENT_LENGTH = 1000;

/** A BlockList, Report or ReportReceipt, binary or as JSON. */
export const MAX_SAFETY_BODY_BYTES = 1024 * 1024;
/** The longest disappearing-messages timer: WhatsApp offers 24 hours, 7 days and 90 days; a year bounds a peer. */
export const MAX_DISAPPEARING_SECONDS = 365 * 24 * 3600;
