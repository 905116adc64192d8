// WhatsApp's poll-vote sealing: round trips, refuses every wrong key, and matches a vector pinned once (computed with
// this module and checked against the derivation WhatsApp's clients use: HKDF-SHA256 with no salt over the secret,
// info = poll ID ‖ creator ‖ voter ‖ "Poll Vote"; AES-256-GCM with AAD = poll ID NUL voter).
import assert from "node:assert/strict";
import { createDecipheriv, hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { decodeContent } from "../../src/protocol/content.js";
import { messageIdToString } from "../../src/protocol/message-id.js";
import { vectorsPath, type Vectors } from "./vectors-model.js";
import { openVote, optionHash, optionsOfHashes, sealVote, voteKey, VoteCryptoError, type VoteScope } from "../../src/protocol/poll-vote-crypto.js";

const scope: VoteScope = { pollMessageId: "3EB0AABBCCDDEEFF", pollCreator: "tel:+4915112345678", voter: "matrix:u/@alice:example.org", secret: new Uint8Array(32).map((_, i) => i) };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));

describe("poll vote crypto", () => {
  it("round trips the chosen options' hashes", () => {
    const sealed = sealVote(scope, [optionHash("Pizza"), optionHash("Sushi")]);
    assert.deepEqual(openVote(scope, sealed).map(hex), [optionHash("Pizza"), optionHash("Sushi")].map(hex));
    assert.deepEqual(openVote(scope, sealVote(scope, [])), []);
  });

  it("a vote opens only for its own poll, creator, voter and secret", () => {
    const sealed = sealVote(scope, [optionHash("Pizza")]);
    const others: VoteScope[] = [
      { ...scope, secret: new Uint8Array(32).fill(9) },
      { ...scope, voter: "tel:+4915199999999" },
      { ...scope, pollCreator: "matrix:u/@alice:example.org" },
      { ...scope, pollMessageId: "3EB0AABBCCDDEE00" },
    ];
    for (const other of others) assert.throws(() => openVote(other, sealed), VoteCryptoError);
    const tampered = { ...sealed, encPayload: sealed.encPayload.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    assert.throws(() => openVote(scope, tampered), VoteCryptoError);
    assert.throws(() => openVote(scope, { ...sealed, encIv: new Uint8Array(8) }), /IV has 12 bytes/);
    assert.throws(() => sealVote({ ...scope, secret: new Uint8Array(16) }, []), /32 bytes/);
  });

  it("matches the pinned vector", () => {
    const { key, aad } = voteKey(scope);
    assert.equal(key.toString("hex"), "55cdd6e239f019257213bc6b1e791a0b0de5e1f334fef32730134f0d25086b01");
    // The derivation spelled out independently of the module.
    const info = Buffer.from("3EB0AABBCCDDEEFFtel:+4915112345678matrix:u/@alice:example.orgPoll Vote");
    assert.equal(Buffer.from(hkdfSync("sha256", scope.secret, Buffer.alloc(0), info, 32)).toString("hex"), key.toString("hex"));
    assert.equal(aad.toString(), "3EB0AABBCCDDEEFF\u0000matrix:u/@alice:example.org");
    const sealed = sealVote(scope, [optionHash("Pizza")], new Uint8Array(12).fill(7));
    assert.equal(hex(sealed.encPayload), "a7cb7ab79e3a69097978a73c874eb7097a71a9e546d9538263956e80f2264a166694a0f37e82af0da8acfad2d890679c4acc");
    // The plaintext is PollVoteMessage { selected_options (1) = sha256("Pizza") }: tag 0x0a, length 32.
    const d = createDecipheriv("aes-256-gcm", key, new Uint8Array(12).fill(7)).setAAD(aad).setAuthTag(sealed.encPayload.subarray(-16));
    const plain = Buffer.concat([d.update(sealed.encPayload.subarray(0, -16)), d.final()]);
    assert.equal(plain.toString("hex"), `0a20${hex(optionHash("Pizza"))}`);
  });

  it("opens the spec's content-poll-vote vector with the secret of its content-poll vector, to the one option chosen", () => {
    const vectors = JSON.parse(readFileSync(vectorsPath, "utf8")) as Vectors;
    const byName = (name: string) => {
      const v = vectors.content.find((c) => c.name === name);
      assert.ok(v, `vector ${name}`);
      return decodeContent(unhex(v.hex));
    };
    const poll = byName("content-poll").message;
    const vote = byName("content-poll-vote").message?.pollUpdateMessage;
    const secret = poll?.messageContextInfo?.messageSecret;
    const options = poll?.pollCreationMessageV3?.options.map((o) => o.optionName) ?? [];
    const sealed = vote?.vote;
    assert.ok(secret && sealed && vote.pollCreationMessageKey);
    const pollId = messageIdToString(Uint8Array.from({ length: 16 }, (_, i) => i));
    assert.equal(vote.pollCreationMessageKey.id, pollId);
    const opened = openVote({ pollMessageId: pollId, pollCreator: "tel:+4915112345678", voter: "matrix:u/alice:example.org", secret }, sealed);
    assert.deepEqual(optionsOfHashes(options, opened), { selected: [1], unknown: 0 }, "Sushi");
    assert.throws(() => openVote({ pollMessageId: pollId, pollCreator: "tel:+4915112345678", voter: "tel:+4915112345678", secret }, sealed), VoteCryptoError, "another voter's key");
  });

  it("maps hashes back to options and counts the ones that name none", () => {
    assert.deepEqual(optionsOfHashes(["Pizza", "Sushi", "Pasta"], [optionHash("Pasta"), optionHash("Pizza"), optionHash("Tacos")]), { selected: [0, 2], unknown: 1 });
  });
});
