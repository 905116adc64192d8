// Checks the implementation against every test vector of docs/interop-protocol.md, in both directions, and the
// document against vectors.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { decodeContent, encodeContent } from "../../src/protocol/content.js";
import { decodeEnvelope } from "../../src/protocol/envelope.js";
import { ProtocolError } from "../../src/protocol/errors.js";
import { decodeClientFrame, decodeServerFrame } from "../../src/protocol/frames.js";
import { blockListFromJson, decodeBlockList, decodeReport, reportFromJson, reportReceiptFromJson } from "../../src/protocol/safety.js";
import { decryptMedia, encryptMedia, expandMediaKey } from "../../src/protocol/media-crypto.js";
import { messageIdFromString, messageIdToString } from "../../src/protocol/message-id.js";
import { pad, unpad } from "../../src/protocol/padding.js";
import { PROTOCOL_VERSION } from "../../src/protocol/limits.js";
import { formatPhoneInternational, matrixUri, normalisePhoneNumber, parseUri, telUri } from "../../src/protocol/uri.js";
import { codecs, ContentSchema, hex, jsonOptions, loadVectors, specPath, unhex, type RejectDecoder } from "./vectors-model.js";
import { generatedSection, renderVectorsMarkdown } from "./vectors-doc.js";

const v = loadVectors();

const decoders: Record<RejectDecoder, (b: Uint8Array) => unknown> = {
  envelope: decodeEnvelope,
  client_frame: decodeClientFrame,
  server_frame: decodeServerFrame,
  content: decodeContent,
  report: decodeReport,
  block_list: decodeBlockList,
};

describe("test vectors", () => {
  it("are for this protocol version and cover what the spec promises", () => {
    assert.equal(v.protocolVersion, PROTOCOL_VERSION);
    const names = new Set(v.protobuf.map((x) => x.name));
    for (const n of ["envelope", "client-send", "client-ack", "client-ping", "server-send-result-ok", "server-deliver", "server-pong", "server-error", "server-prekeys-low", "server-devices-changed"]) {
      assert.ok(names.has(n), `missing vector ${n}`);
    }
    const content = new Set(v.content.map((x) => x.name));
    for (const n of ["content-text", "content-reaction", "content-edit", "content-receipt", "content-chat-state"]) assert.ok(content.has(n), n);
    assert.deepEqual(v.mediaKeys.map((x) => x.kind).sort(), ["audio", "document", "image", "video"]);
    assert.ok(v.media.length >= 1 && v.padding.length >= 1 && v.rejects.length >= 1);
  });

  for (const vec of v.protobuf) {
    it(`protobuf ${vec.name}: JSON -> bytes and bytes -> JSON`, () => {
      const codec = codecs[vec.type];
      assert.ok(codec, `no codec for ${vec.type}`);
      assert.equal(hex(codec.encode(vec.json)), vec.hex);
      assert.deepEqual(codec.decode(unhex(vec.hex)), vec.json);
    });
  }

  it("the safety bodies read from their JSON vectors, the form they take over HTTPS", () => {
    const byName = new Map(v.protobuf.map((x) => [x.name, x]));
    for (const n of ["block-list", "report", "report-receipt"]) assert.ok(byName.has(n), `missing vector ${n}`);
    const report = reportFromJson(byName.get("report")!.json);
    assert.deepEqual(report.messageIds.map(messageIdToString), ["101112131415161718191A1B1C1D1E1F", "202122232425262728292A2B2C2D2E2F"]);
    assert.deepEqual(blockListFromJson(byName.get("block-list")!.json).blocked, ["tel:+12025550123", "tel:+4915112345678"]);
    assert.equal(reportReceiptFromJson(byName.get("report-receipt")!.json).id, "r-42");
    // The JSON mapping's other spelling (lowerCamelCase) and unknown fields of a later revision are accepted too.
    assert.equal(reportFromJson({ reporter: "matrix:u/alice:example.org", reported: "tel:+4915112345678", messageIds: [], reason: "ABUSE", later: 1 }).reason, 2);
    // A reason a later revision added is read as OTHER, not refused.
    assert.equal(reportFromJson({ reporter: "matrix:u/alice:example.org", reported: "tel:+4915112345678", reason: "CHILD_SAFETY" }).reason, 4);
    assert.throws(() => reportFromJson({ reporter: "matrix:u/alice:example.org", reported: "tel:+4915112345678", reason: 2, messageIds: "x" }), (e: unknown) => e instanceof ProtocolError && e.code === "malformed");
    assert.throws(() => reportFromJson({ reporter: "matrix:u/alice:example.org", reported: "tel:+4915112345678" }), (e: unknown) => e instanceof ProtocolError && e.code === "invalid_field");
  });

  for (const vec of v.content) {
    it(`content ${vec.name}: JSON -> padded bytes and back`, () => {
      assert.equal(hex(encodeContent(fromJson(ContentSchema, vec.json), { padding: vec.padding })), vec.hex);
      assert.deepEqual(toJson(ContentSchema, decodeContent(unhex(vec.hex)), jsonOptions), vec.json);
    });
  }

  it("padding both ways", () => {
    for (const vec of v.padding) {
      assert.equal(hex(pad(unhex(vec.input), vec.n)), vec.output);
      assert.equal(hex(unpad(unhex(vec.output))), vec.input);
    }
  });

  for (const vec of v.rejects) {
    it(`rejects ${vec.name} with ${vec.code}`, () => {
      assert.throws(() => decoders[vec.decoder](unhex(vec.hex)), (e: unknown) => e instanceof ProtocolError && e.code === vec.code);
    });
  }

  it("message IDs both ways", () => {
    for (const vec of v.messageIds) {
      assert.equal(messageIdToString(unhex(vec.bytes)), vec.string);
      assert.equal(hex(messageIdFromString(vec.string)), vec.bytes);
    }
  });

  it("URIs both ways and phone number normalisation", () => {
    for (const vec of v.uris) {
      if ("userId" in vec) {
        assert.equal(matrixUri(vec.userId), vec.uri);
        assert.deepEqual(parseUri(vec.uri), { kind: "matrix", userId: vec.userId });
      } else {
        assert.equal(telUri(vec.e164), vec.uri);
        assert.deepEqual(parseUri(vec.uri), { kind: "tel", e164: vec.e164 });
        assert.equal(formatPhoneInternational(vec.e164), vec.international);
      }
    }
    for (const vec of v.phoneNumbers) assert.equal(normalisePhoneNumber(vec.input, vec.defaultCountry), vec.e164);
  });

  it("media key expansion for every kind", () => {
    for (const vec of v.mediaKeys) {
      const k = expandMediaKey(unhex(vec.mediaKey), vec.kind);
      assert.deepEqual(
        { iv: hex(k.iv), cipherKey: hex(k.cipherKey), macKey: hex(k.macKey), refKey: hex(k.refKey) },
        { iv: vec.iv, cipherKey: vec.cipherKey, macKey: vec.macKey, refKey: vec.refKey },
      );
    }
  });

  it("media encryption and decryption", () => {
    for (const vec of v.media) {
      const e = encryptMedia(unhex(vec.plaintext), vec.kind, unhex(vec.mediaKey));
      assert.equal(hex(e.upload), vec.upload);
      assert.equal(hex(e.fileSha256), vec.fileSha256);
      assert.equal(hex(e.fileEncSha256), vec.fileEncSha256);
      assert.equal(e.fileLength, vec.fileLength);
      const plaintext = decryptMedia(unhex(vec.upload), vec.kind, {
        mediaKey: unhex(vec.mediaKey),
        fileSha256: unhex(vec.fileSha256),
        fileEncSha256: unhex(vec.fileEncSha256),
        fileLength: vec.fileLength,
      });
      assert.equal(hex(plaintext), vec.plaintext);
    }
  });

  it("appear in docs/interop-protocol.md exactly as vectors.json has them", () => {
    const section = generatedSection(readFileSync(specPath, "utf8"));
    assert.ok(section !== undefined, "the spec lacks the generated-vectors markers");
    assert.ok(
      section === renderVectorsMarkdown(v),
      "the vectors in docs/interop-protocol.md differ from test/protocol/vectors.json; run node dist/test/protocol/tools/render-vectors-doc.js",
    );
  });
});
