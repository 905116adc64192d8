// Random and mutated inputs into every decoder: each must either return a value or throw its typed error, never
// anything else (a TypeError or RangeError from deep inside would mean an unchecked path). Seeded, so a failure can
// be replayed with FUZZ_SEED=<seed>.
import { decodeBlockList, decodeReport } from "../../src/protocol/safety.js";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeContent } from "../../src/protocol/content.js";
import { decodeEnvelope } from "../../src/protocol/envelope.js";
import { ProtocolError, type ProtocolErrorCode } from "../../src/protocol/errors.js";
import { decodeClientFrame, decodeServerFrame } from "../../src/protocol/frames.js";
import { decryptMedia, MediaIntegrityError } from "../../src/protocol/media-crypto.js";
import { messageIdFromString } from "../../src/protocol/message-id.js";
import { unpad } from "../../src/protocol/padding.js";
import { parseUri } from "../../src/protocol/uri.js";
import { loadVectors, unhex } from "./vectors-model.js";
import { prng } from "../support/prng.js";

const ITERATIONS = 1000;
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);


function mutator(random: () => number, corpus: Uint8Array[]) {
  const int = (n: number) => Math.floor(random() * n);
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return (): Uint8Array => {
    const base = corpus[int(corpus.length)]!;
    if (random() < 0.15) return randomBytes(int(300));
    let bytes = Uint8Array.from(base);
    const steps = 1 + int(4);
    for (let s = 0; s < steps; s++) {
      const at = int(bytes.length + 1);
      switch (int(7)) {
        case 0: // flip a bit
          if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << int(8);
          break;
        case 1: // set an interesting byte (varint continuation, tag, length boundaries)
          if (bytes.length > 0) bytes[at % bytes.length] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08][int(8)]!;
          break;
        case 2: // truncate
          bytes = bytes.subarray(0, at);
          break;
        case 3: // delete a range
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + int(8))]);
          break;
        case 4: // insert random bytes
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...randomBytes(1 + int(8)), ...bytes.subarray(at)]);
          break;
        case 5: // splice in part of another corpus entry
        {
          const other = corpus[int(corpus.length)]!;
          const from = int(other.length + 1);
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...other.subarray(from, from + int(40))]);
          break;
        }
        default: // duplicate a range (repeated fields, merged sub-messages)
          bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at, at + int(20)), ...bytes.subarray(at)]);
      }
    }
    return bytes;
  };
}

function fuzz(name: string, corpus: Uint8Array[], decode: (b: Uint8Array) => unknown, allowed: (e: unknown) => boolean) {
  it(`${name}: ${ITERATIONS} random and mutated inputs give a value or a typed error (seed ${seed})`, () => {
    const next = mutator(prng(seed ^ hash(name)), corpus);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < ITERATIONS; i++) {
      const input = next();
      let outcome = "ok";
      try {
        decode(input);
      } catch (e) {
        if (!allowed(e)) {
          assert.fail(`${name} threw ${String(e)} for ${Buffer.from(input).toString("hex")} (FUZZ_SEED=${seed})`);
        }
        outcome = e instanceof ProtocolError ? e.code : (e as MediaIntegrityError).reason;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    if (process.env.FUZZ_VERBOSE) console.log(`      ${name}:`, Object.fromEntries(outcomes));
    // The mutations must exercise more than one path, or the loop proves little.
    assert.ok(outcomes.size >= 2, `only saw ${[...outcomes.keys()].join(", ")}`);
  });
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

const isProtocolError = (e: unknown) => e instanceof ProtocolError;
const codes = (...c: ProtocolErrorCode[]) => (e: unknown) => e instanceof ProtocolError && c.includes(e.code);

describe("fuzzing the decoders", () => {
  const v = loadVectors();
  const of = (type: string) => v.protobuf.filter((x) => x.type === type).map((x) => unhex(x.hex));
  const rejects = (decoder: string) => v.rejects.filter((x) => x.decoder === decoder).map((x) => unhex(x.hex));

  fuzz("decodeEnvelope", [...of("dma.interop.v1.Envelope"), ...rejects("envelope")], decodeEnvelope, isProtocolError);
  fuzz("decodeClientFrame", [...of("dma.interop.v1.ClientFrame"), ...rejects("client_frame")], decodeClientFrame, isProtocolError);
  fuzz("decodeServerFrame", [...of("dma.interop.v1.ServerFrame"), ...rejects("server_frame")], decodeServerFrame, isProtocolError);
  fuzz("decodeContent", [...v.content.map((x) => unhex(x.hex)), ...rejects("content")], decodeContent, isProtocolError);
  fuzz("decodeReport", [...of("dma.interop.v1.Report"), ...rejects("report")], decodeReport, isProtocolError);
  fuzz("decodeBlockList", [...of("dma.interop.v1.BlockList"), ...rejects("block_list")], decodeBlockList, isProtocolError);
  fuzz("unpad", v.padding.map((x) => unhex(x.output)), unpad, codes("truncated", "malformed"));

  const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");
  fuzz(
    "parseUri",
    v.uris.map((x) => new Uint8Array(Buffer.from(x.uri, "latin1"))),
    (b) => parseUri(text(b)),
    codes("invalid_field"),
  );
  fuzz(
    "messageIdFromString",
    v.messageIds.map((x) => new Uint8Array(Buffer.from(x.string, "latin1"))),
    (b) => messageIdFromString(text(b)),
    codes("invalid_field"),
  );

  const media = v.media[0]!;
  const expected = { mediaKey: unhex(media.mediaKey), fileSha256: unhex(media.fileSha256), fileEncSha256: unhex(media.fileEncSha256) };
  fuzz(
    "decryptMedia",
    [unhex(media.upload)],
    (b) => {
      // Tell the decryptor the mutated upload's own hash, so the checks behind fileEncSha256 get exercised too.
      const plaintext = decryptMedia(b, media.kind, { ...expected, fileEncSha256: sha256(b) });
      assert.equal(Buffer.from(plaintext).toString("hex"), media.plaintext, "a changed upload must never decrypt");
    },
    (e) => e instanceof MediaIntegrityError,
  );
});

function sha256(b: Uint8Array): Uint8Array {
  return createHash("sha256").update(b).digest();
}
