// What `npm run fuzz` drives: every decoder of untrusted input, each with its seeds (the spec's test vectors and
// values built with the encoders), its mutator and the errors it may throw. Anything else thrown is a finding, and so
// is a value the decoder accepted but that breaks what the caller does with it next (re-encoding an envelope for
// delivery, queueing a transaction's events as JSON).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPairSync } from "node:crypto";
import { stringify } from "yaml";
import type { DescMessage } from "@bufbuild/protobuf";
import { MediaError } from "../../src/core/ports.js";
import { ConfigError } from "../../src/config/errors.js";
import { parseConfig } from "../../src/config/load.js";
import { incomingMatrixMedia, remoteMediaOf } from "../../src/app/media/interop-media.js";
import { InvalidEncryptedFileError, parseEncryptedFile } from "../../src/app/media/matrix-attachments.js";
import { parseMatrixMedia } from "../../src/app/media/matrix-content.js";
import { InvalidTransactionError, parseTransaction } from "../../src/matrix/transaction.js";
import { decodeContent, encodeContent } from "../../src/protocol/content.js";
import { reactionContent, receiptContent, textContent, chatStateContent, editContent, revokeContent } from "../../src/protocol/content-builders.js";
import { decodeEnvelope, encodeEnvelope } from "../../src/protocol/envelope.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { decodeClientFrame, decodeServerFrame, encodeClientFrame, encodeServerFrame } from "../../src/protocol/frames.js";
import { ContentSchema, Receipt_Type, ChatState_State } from "../../src/protocol/gen/content_pb.js";
import { ClientFrameSchema, EnvelopeSchema, ServerFrameSchema } from "../../src/protocol/gen/interop_pb.js";
import { decryptMedia, encryptMedia, MediaIntegrityError, type MediaKind } from "../../src/protocol/media-crypto.js";
import { messageIdFromString, messageIdToString, newMessageId } from "../../src/protocol/message-id.js";
import { pad, unpad } from "../../src/protocol/padding.js";
import { isValidUri, normalisePhoneNumber, parseUri } from "../../src/protocol/uri.js";
import { loadVectors, unhex } from "../../test/protocol/vectors-model.js";
import { havoc } from "./bytes.js";
import { mutateJsonText, type JsonDictionary } from "./json.js";
import { generateProtobuf } from "./protobuf-gen.js";
import { mutateProtobuf } from "./protobuf-wire.js";
import type { Random } from "./random.js";
import { mutateYamlText } from "./yaml-text.js";

export type Input = Uint8Array | string;

export interface Target<T extends Input = Input> {
  name: string;
  /** What is decoded, for the report. */
  decodes: string;
  seeds(): T[];
  mutate(r: Random, input: T, corpus: readonly T[]): T;
  /** Runs the decoder; throws a FuzzFinding when an accepted value breaks a property. */
  run(input: T): void;
  /** The outcome name of an error the decoder may throw, or undefined when `err` is a finding. */
  expected(err: unknown): string | undefined;
}

/** A property of an accepted value does not hold (thrown by a target's run, never by the code under test). */
export class FuzzFinding extends Error {
  override readonly name = "FuzzFinding";
}

const protocolError = (err: unknown) => (err instanceof ProtocolError ? `ProtocolError ${err.code}` : undefined);

function protobufMutator(schema: DescMessage, frame: { wrap(r: Random, b: Uint8Array): Uint8Array; unwrap(b: Uint8Array): Uint8Array } = { wrap: (_r, b) => b, unwrap: (b) => b }) {
  return (r: Random, input: Uint8Array, corpus: readonly Uint8Array[]): Uint8Array => {
    const choice = r.int(20);
    if (choice < 3) return frame.wrap(r, generateProtobuf(r, schema));
    if (choice < 13) {
      const donor = corpus.length > 0 ? [frame.unwrap(r.pick(corpus))] : [];
      const mutated = mutateProtobuf(r, frame.unwrap(input), donor);
      if (mutated) return frame.wrap(r, r.chance(0.1) ? havoc(r, mutated, donor) : mutated);
    }
    return havoc(r, input, corpus);
  };
}

const padding = {
  wrap: (r: Random, b: Uint8Array) => (r.chance(0.95) ? pad(b, 1 + r.int(15)) : b),
  unwrap: (b: Uint8Array) => {
    try {
      return unpad(b);
    } catch {
      return b;
    }
  },
};

function vectorsOf(type: string): Uint8Array[] {
  const v = loadVectors();
  return v.protobuf.filter((x) => x.type === type).map((x) => unhex(x.hex));
}

function rejectsOf(decoder: string): Uint8Array[] {
  return loadVectors().rejects.filter((x) => x.decoder === decoder).map((x) => unhex(x.hex));
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest();

function mediaContents(): Uint8Array[] {
  const file = encryptMedia(new TextEncoder().encode("a small file"), "image");
  const common = {
    mediaKey: file.mediaKey,
    fileSha256: file.fileSha256,
    fileEncSha256: file.fileEncSha256,
    fileLength: 12n,
    directPath: "/v1/media/0123456789abcdef",
    url: "https://gk.example/v1/media/0123456789abcdef",
  };
  const ctx = { stanzaId: messageIdToString(newMessageId()), participant: "tel:+491511234567" };
  return [
    encodeContent({ message: { imageMessage: { ...common, mimetype: "image/jpeg", caption: "hi", width: 640, height: 480, jpegThumbnail: new Uint8Array(8) } } }),
    encodeContent({ message: { videoMessage: { ...common, mimetype: "video/mp4", seconds: 3, caption: "v" } } }),
    encodeContent({ message: { audioMessage: { ...common, mimetype: "audio/ogg; codecs=opus", seconds: 4, ptt: true, waveform: new Uint8Array(64).fill(50) } } }),
    encodeContent({ message: { documentMessage: { ...common, mimetype: "application/pdf", fileName: "a.pdf", title: "A", caption: "doc", contextInfo: ctx } } }),
  ];
}

function contentSeeds(): Uint8Array[] {
  const ref = { id: messageIdToString(newMessageId()), chat: "tel:+491511234567", fromMe: false };
  const built = [
    encodeContent(textContent("hello")),
    encodeContent(textContent("a reply", { stanzaId: ref.id, participant: "tel:+491511234567" })),
    encodeContent(reactionContent({ remoteJid: ref.chat, fromMe: ref.fromMe, id: ref.id }, "👍", 1_700_000_000_000n)),
    encodeContent(editContent({ remoteJid: ref.chat, fromMe: true, id: ref.id }, "edited", 1_700_000_000_000n)),
    encodeContent(revokeContent({ remoteJid: ref.chat, fromMe: true, id: ref.id }, 1_700_000_000_000n)),
    encodeContent(receiptContent(Receipt_Type.READ, [ref.id], 1_700_000_000_000n)),
    encodeContent(chatStateContent(ChatState_State.COMPOSING)),
  ];
  return [...loadVectors().content.map((x) => unhex(x.hex)), ...rejectsOf("content"), ...built, ...mediaContents()];
}

/** Accepted interop data must survive being encoded again: the gatekeeper re-encodes every envelope it delivers. */
function reencodes(what: string, encode: () => Uint8Array, decode: (b: Uint8Array) => unknown): void {
  let bytes: Uint8Array;
  try {
    bytes = encode();
  } catch (err) {
    throw new FuzzFinding(`accepted ${what} cannot be encoded again: ${String(err)}`);
  }
  try {
    decode(bytes);
  } catch (err) {
    throw new FuzzFinding(`accepted ${what}, encoded again, is refused: ${String(err)}`);
  }
}

const envelope: Target<Uint8Array> = {
  name: "envelope",
  decodes: "dma.interop.v1.Envelope (decodeEnvelope)",
  seeds: () => [...vectorsOf("dma.interop.v1.Envelope"), ...rejectsOf("envelope")],
  mutate: protobufMutator(EnvelopeSchema),
  run: (b) => {
    const e = decodeEnvelope(b);
    reencodes("envelope", () => encodeEnvelope(e), decodeEnvelope);
  },
  expected: protocolError,
};

const clientFrame: Target<Uint8Array> = {
  name: "client-frame",
  decodes: "dma.interop.v1.ClientFrame (decodeClientFrame)",
  seeds: () => [...vectorsOf("dma.interop.v1.ClientFrame"), ...rejectsOf("client_frame")],
  mutate: protobufMutator(ClientFrameSchema),
  run: (b) => {
    const f = decodeClientFrame(b);
    reencodes("client frame", () => encodeClientFrame(f), decodeClientFrame);
  },
  expected: protocolError,
};

const serverFrame: Target<Uint8Array> = {
  name: "server-frame",
  decodes: "dma.interop.v1.ServerFrame (decodeServerFrame)",
  seeds: () => [...vectorsOf("dma.interop.v1.ServerFrame"), ...rejectsOf("server_frame")],
  mutate: protobufMutator(ServerFrameSchema),
  run: (b) => {
    const f = decodeServerFrame(b);
    reencodes("server frame", () => encodeServerFrame(f), decodeServerFrame);
  },
  expected: protocolError,
};

const content: Target<Uint8Array> = {
  name: "content",
  decodes: "padded dma.content.v1.Content (decodeContent)",
  seeds: contentSeeds,
  mutate: protobufMutator(ContentSchema, padding),
  run: (b) => {
    const c = decodeContent(b);
    reencodes("content", () => encodeContent(c), decodeContent);
  },
  expected: protocolError,
};

const paddingTarget: Target<Uint8Array> = {
  name: "padding",
  decodes: "plaintext padding (unpad)",
  seeds: () => loadVectors().padding.map((x) => unhex(x.output)),
  mutate: (r, input, corpus) => (r.chance(0.3) ? pad(r.bytes(r.int(40)), 1 + r.int(15)) : havoc(r, input, corpus)),
  run: (b) => {
    const inner = unpad(b);
    const n = b.length - inner.length;
    if (n < 1 || n > 15 || b.subarray(inner.length).some((x) => x !== n)) throw new FuzzFinding(`unpad removed ${n} bytes that are not padding`);
  },
  expected: protocolError,
};

const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

function textMutator(alphabet: readonly string[]) {
  return (r: Random, input: string, corpus: readonly string[]): string => {
    if (r.chance(0.3)) return latin1(havoc(r, utf8(input), corpus.map(utf8)));
    let s = input;
    for (let n = 1 + r.int(3); n > 0; n--) {
      const at = r.int(s.length + 1);
      switch (r.int(4)) {
        case 0:
          s = s.slice(0, at) + r.pick(alphabet) + s.slice(at);
          break;
        case 1:
          s = s.slice(0, at) + s.slice(at + 1 + r.int(4));
          break;
        case 2:
          s = s.slice(0, at) + s.slice(at, at + 1 + r.int(8)).repeat(1 + r.int(r.chance(0.05) ? 500 : 4)) + s.slice(at);
          break;
        default:
          s = r.pick(corpus).slice(0, r.int(20)) + s.slice(at);
      }
    }
    return s;
  };
}

const URI_ALPHABET = ["tel:", "matrix:", "u/", "r/", "+", "0", "9", "1", ":", "/", "%", "%00", "%2F", "@", "#", "?", "a", "Z", "_", "-", ".", " ", "\u0000", "é", "😀", "\ud800", "=", "..", "localhost", "[::1]", ":8448"];

const uri: Target<string> = {
  name: "uri",
  decodes: "interop URIs tel:/matrix: (parseUri)",
  seeds: () => [...loadVectors().uris.map((x) => x.uri), "tel:+15550100", "matrix:u/bob:[::1]:8448", "matrix:u/a.b-c_d=e/f:example.org"],
  mutate: textMutator(URI_ALPHABET),
  run: (s) => {
    parseUri(s);
    if (!isValidUri(s)) throw new FuzzFinding("parseUri accepted a URI that isValidUri refuses");
  },
  expected: (err) => protocolError(err),
};

const phone: Target<string> = {
  name: "phone-number",
  decodes: "phone numbers typed by users (normalisePhoneNumber, with and without a default country)",
  seeds: () => [...loadVectors().phoneNumbers.map((x) => x.input), "+49 1511 2345678", "0049 (0)151-12345678", "01511 2345678", "+1 (555) 010-0", "ext. 12"],
  mutate: textMutator(["+", "0", "1", "4", "9", " ", "-", "(", ")", ".", "/", "x", "ext", "#", "*", ";", "٣", "０", "\u00a0", "+0", "00", "tel:"]),
  run: (s) => {
    const e164 = normalisePhoneNumber(s, s.length % 2 === 0 ? "DE" : undefined);
    if (!/^\+[1-9]\d{1,14}$/.test(e164)) throw new FuzzFinding(`normalisePhoneNumber returned ${JSON.stringify(e164)}, not E.164`);
  },
  expected: protocolError,
};

const messageId: Target<string> = {
  name: "message-id",
  decodes: "message IDs in their string form (messageIdFromString)",
  seeds: () => loadVectors().messageIds.map((x) => x.string),
  mutate: textMutator(["0", "9", "a", "f", "A", "F", "g", "-", "=", "+", "/", "_", " ", "\u0000"]),
  run: (s) => {
    const bytes = messageIdFromString(s);
    if (bytes.length !== 16) throw new FuzzFinding(`messageIdFromString gave ${bytes.length} bytes`);
  },
  expected: protocolError,
};

function decryptMediaTarget(): Target<Uint8Array> {
  const vector = loadVectors().media[0]!;
  const kind = vector.kind as MediaKind;
  const expected = { mediaKey: unhex(vector.mediaKey), fileSha256: unhex(vector.fileSha256), fileEncSha256: unhex(vector.fileEncSha256) };
  return {
    name: "media-decrypt",
    decodes: "encrypted media uploads (decryptMedia: MAC, hashes, padding)",
    seeds: () => loadVectors().media.filter((m) => m.kind === kind && m.mediaKey === vector.mediaKey).map((m) => unhex(m.upload)),
    mutate: (r, input, corpus) => havoc(r, input, corpus),
    run: (b) => {
      // The mutated upload's own hash is given as expected, so the MAC and padding checks behind it get exercised.
      const plaintext = decryptMedia(b, kind, { ...expected, fileEncSha256: sha256(b) });
      if (Buffer.from(plaintext).toString("hex") !== vector.plaintext) throw new FuzzFinding("a changed upload decrypted to other plaintext");
    },
    expected: (err) => (err instanceof MediaIntegrityError ? `MediaIntegrityError ${err.reason}` : undefined),
  };
}

const remoteMedia: Target<Uint8Array> = {
  name: "media-metadata-remote",
  decodes: "media metadata of interop messages (decodeContent, remoteMediaOf, incomingMatrixMedia)",
  seeds: mediaContents,
  mutate: protobufMutator(ContentSchema, padding),
  run: (b) => {
    const c = decodeContent(b);
    if (!c.message) return;
    const remote = remoteMediaOf(c.message);
    incomingMatrixMedia(remote, remote.fileLength);
  },
  expected: (err) => protocolError(err) ?? (err instanceof MediaError ? "MediaError" : undefined),
};

const MATRIX_KEYS = ["msgtype", "body", "url", "file", "info", "filename", "format", "formatted_body", "mimetype", "size", "w", "h", "duration", "thumbnail_url", "thumbnail_file", "thumbnail_info", "org.matrix.msc3245.voice", "org.matrix.msc1767.audio", "waveform", "key", "iv", "hashes", "sha256", "v", "kty", "key_ops", "alg", "k", "ext", "m.relates_to", "m.new_content"];
const MATRIX_STRINGS = ["m.image", "m.video", "m.audio", "m.file", "m.text", "mxc://example.org/abc", "mxc://a/", "mxc:///b", "https://x/y", "v2", "v1", "oct", "A256CTR", "decrypt", "encrypt", "AAAAAAAAAAAAAAAAAAAAAA", "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo", "org.matrix.custom.html", "<b>x</b>", "image/png", "a.png", "../../x", "CON", ".", "a\u0000b"];
const matrixDictionary: JsonDictionary = { keys: MATRIX_KEYS, strings: MATRIX_STRINGS };

function encryptedFileJson() {
  return {
    url: "mxc://example.org/abcdef",
    key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo", ext: true },
    iv: "AAAAAAAAAAAAAAAAAAAAAA",
    hashes: { sha256: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU" },
    v: "v2",
  };
}

function plainObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

const matrixMedia: Target<string> = {
  name: "media-metadata-matrix",
  decodes: "Matrix media message content (parseMatrixMedia, incl. encrypted file objects)",
  seeds: () =>
    [
      { msgtype: "m.image", body: "a.png", url: "mxc://example.org/a", info: { mimetype: "image/png", size: 10, w: 2, h: 3, thumbnail_url: "mxc://example.org/t", thumbnail_info: { mimetype: "image/png", size: 4 } } },
      { msgtype: "m.file", body: "a caption", filename: "a.pdf", format: "org.matrix.custom.html", formatted_body: "<b>a</b> caption", file: encryptedFileJson(), info: { mimetype: "application/pdf", thumbnail_file: encryptedFileJson() } },
      { msgtype: "m.audio", body: "voice", url: "mxc://example.org/v", info: { duration: 3000 }, "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: 3000, waveform: [0, 512, 1024] } },
      { msgtype: "m.video", body: "v.mp4", url: "mxc://example.org/v", info: { mimetype: "video/mp4", duration: 1000, w: 640, h: 480 } },
    ].map((x) => JSON.stringify(x)),
  mutate: (r, input, corpus) => mutateJsonText(r, input, matrixDictionary, corpus),
  run: (text) => {
    const content = plainObject(text);
    if (content) parseMatrixMedia(content);
  },
  expected: (err) => (err instanceof MediaError ? "MediaError" : undefined),
};

const encryptedFile: Target<string> = {
  name: "encrypted-file",
  decodes: "Matrix encrypted attachment objects (parseEncryptedFile)",
  seeds: () => [JSON.stringify(encryptedFileJson())],
  mutate: (r, input, corpus) => mutateJsonText(r, input, matrixDictionary, corpus),
  run: (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    parseEncryptedFile(value);
  },
  expected: (err) => (err instanceof InvalidEncryptedFileError ? "InvalidEncryptedFileError" : undefined),
};

const TXN_KEYS = ["events", "ephemeral", "to_device", "device_lists", "device_one_time_keys_count", "device_unused_fallback_key_types", "de.sorunome.msc2409.ephemeral", "de.sorunome.msc2409.to_device", "org.matrix.msc3202.device_lists", "org.matrix.msc3202.device_one_time_keys_count", "org.matrix.msc3202.device_one_time_key_counts", "org.matrix.msc3202.device_unused_fallback_key_types", "changed", "left", "type", "content", "room_id", "sender", "event_id", "state_key", "origin_server_ts", "unsigned", "redacts", "to_user_id", "to_device_id", "user_ids", "membership", "body", "msgtype", "signed_curve25519", "DEVICE", "__proto__", "constructor"];
const TXN_STRINGS = ["m.room.message", "m.room.member", "m.room.encrypted", "m.typing", "m.receipt", "m.presence", "m.room_key_request", "m.room.redaction", "@alice:localhost", "@wa_491511234567:localhost", "@:localhost", "@a", "!room:localhost", "!r", "$event", "$", "join", "invite", "leave", "m.text", "signed_curve25519", "DEVICEID", ""];
const txnDictionary: JsonDictionary = { keys: TXN_KEYS, strings: TXN_STRINGS };

function transactionSeeds(): string[] {
  const ev = (i: number, extra: Record<string, unknown> = {}) => ({ event_id: `$e${i}`, room_id: "!room:localhost", sender: "@alice:localhost", type: "m.room.message", origin_server_ts: 1_700_000_000_000 + i, content: { msgtype: "m.text", body: `hello ${i}` }, ...extra });
  return [
    { events: [ev(1), ev(2, { type: "m.room.member", state_key: "@wa_491511234567:localhost", content: { membership: "invite" } })] },
    {
      events: [ev(3, { type: "m.room.encrypted", content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgA", device_id: "D", sender_key: "k", session_id: "s" } })],
      ephemeral: [
        { type: "m.typing", room_id: "!room:localhost", content: { user_ids: ["@alice:localhost"] } },
        { type: "m.receipt", room_id: "!room:localhost", content: { $e1: { "m.read": { "@alice:localhost": { ts: 1 } } } } },
      ],
      to_device: [{ type: "m.room_key_request", sender: "@alice:localhost", to_user_id: "@wa_491511234567:localhost", to_device_id: "DEV", content: {} }],
      device_lists: { changed: ["@alice:localhost"], left: [] },
      device_one_time_keys_count: { "@wa_491511234567:localhost": { DEV: { signed_curve25519: 20 } } },
      device_unused_fallback_key_types: { "@wa_491511234567:localhost": { DEV: ["signed_curve25519"] } },
    },
    {
      events: [],
      "de.sorunome.msc2409.ephemeral": [{ type: "m.presence", sender: "@alice:localhost", content: { presence: "online" } }],
      "org.matrix.msc3202.device_lists": { changed: ["@bob:localhost"], left: ["@carol:localhost"] },
      "org.matrix.msc3202.device_one_time_key_counts": { "@wa_1:localhost": { D: { signed_curve25519: 0 } } },
    },
  ].map((x) => JSON.stringify(x));
}

const transaction: Target<string> = {
  name: "appservice-transaction",
  decodes: "appservice transaction bodies (JSON.parse as the server does, then parseTransaction)",
  seeds: transactionSeeds,
  mutate: (r, input, corpus) => mutateJsonText(r, input, txnDictionary, corpus),
  run: (text) => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return; // the HTTP layer answers 400 before the parser runs
    }
    const txn = parseTransaction(body);
    // Accepted items are queued as JSON: an item that cannot be written would be retried by the homeserver forever.
    for (const item of [...txn.events, ...txn.ephemeral, ...txn.toDevice]) {
      try {
        JSON.stringify(item);
      } catch (err) {
        throw new FuzzFinding(`an accepted item cannot be queued: ${String(err)}`);
      }
    }
  },
  expected: (err) => (err instanceof InvalidTransactionError ? "InvalidTransactionError" : undefined),
};

function configTarget(): Target<string> {
  // A real directory with a private key file, so `file:` secrets resolve and the whole schema is reached.
  const dir = mkdtempSync(join(tmpdir(), "mdb-fuzz-config-"));
  const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, "provider-key.pem"), pem, { mode: 0o600 });
  writeFileSync(join(dir, "public.txt"), "x", { mode: 0o644 });
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const env = { MDB_PROVIDER_KEY: pem, EMPTY: "" };
  const minimal = {
    homeserver: { url: "http://127.0.0.1:8008", domain: "example.org" },
    bridge: { permissions: { "example.org": "user" } },
    gatekeeper: { url: "http://127.0.0.1:29400", provider_id: "matrix-example-org", provider_key: "file:./provider-key.pem" },
  };
  const full = {
    ...minimal,
    appservice: { id: "dma-bridge", bind_address: "127.0.0.1", port: 29340, url: "http://127.0.0.1:29340", registration: "./registration.yaml", bot_localpart: "whatsappbot", bot_displayname: "WhatsApp bridge bot" },
    bridge: {
      network_name: "WhatsApp",
      puppet_localpart_template: "wa_{digits}",
      puppet_displayname_template: "{name} (WhatsApp)",
      default_country: "DE",
      encryption: { default: true, allow: true, max_key_wait_seconds: 600 },
      send_read_receipts: true,
      message_status_events: false,
      max_media_size_mb: 100,
      permissions: { "example.org": "user", "@admin:example.org": "admin", "*": "user" },
    },
    gatekeeper: { ...minimal.gatekeeper, provider_key: "env:MDB_PROVIDER_KEY" },
    database: { type: "sqlite", path: "./data/bridge.db" },
    logging: { level: "info", format: "json" },
  };
  const keys = new Set<string>();
  const collect = (v: unknown) => {
    if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (keys.add(k), collect(x));
  };
  collect(full);
  const dictionary: JsonDictionary = {
    small: true,
    keys: [...keys, "postgres", "connection_string", "unknown_key"],
    strings: ["file:./provider-key.pem", "file:./public.txt", "file:./missing.pem", "file:.", "file:", "file:/dev/null", "env:MDB_PROVIDER_KEY", "env:EMPTY", "env:UNSET", "env:1x", "http://127.0.0.1:8008", "https://[::1]:443/", "ftp://x", "not a url", "example.org", "@admin:example.org", "*", "user", "admin", "relay", "wa_{digits}", "{digits}{digits}", "{name}", "DE", "XX", "sqlite", "postgres", "json", "pretty", "trace", "-1", "0", "65536", ""],
  };
  return {
    name: "config",
    decodes: "the YAML config file (parseConfig: YAML, schema, secrets)",
    seeds: () => [stringify(minimal), stringify(full)],
    mutate: (r, input, corpus) => mutateYamlText(r, input, dictionary, corpus),
    run: (text) => {
      parseConfig(text, "fuzz.yaml", { baseDir: dir, env });
    },
    expected: (err) => (err instanceof ConfigError ? "ConfigError" : undefined),
  };
}

/** Built lazily: the config target writes a key file, the media one reads the vectors. */
export const TARGETS: Record<string, () => Target> = {
  envelope: () => envelope as Target,
  "client-frame": () => clientFrame as Target,
  "server-frame": () => serverFrame as Target,
  content: () => content as Target,
  padding: () => paddingTarget as Target,
  uri: () => uri as Target,
  "phone-number": () => phone as Target,
  "message-id": () => messageId as Target,
  "media-decrypt": () => decryptMediaTarget() as Target,
  "media-metadata-remote": () => remoteMedia as Target,
  "media-metadata-matrix": () => matrixMedia as Target,
  "encrypted-file": () => encryptedFile as Target,
  "appservice-transaction": () => transaction as Target,
  config: () => configTarget() as Target,
};
