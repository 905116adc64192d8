// Sealing and opening poll votes as WhatsApp's clients do: a vote is a PollVoteMessage (the SHA-256 of each chosen
// option's name) in AES-256-GCM, under a key HKDF-SHA256 derives from the poll's 32-byte message secret for this one
// voter in this one poll, so only members of the chat who saw the poll can read or forge a vote. On the interop
// network the "JIDs" of the derivation are the users' interop URIs (tel:+…, matrix:u/…), the IDs both sides use.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import { PollVoteMessageSchema } from "./gen/content_pb.js";

export const POLL_SECRET_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const USE_CASE = "Poll Vote";

/** Who and what a vote is about: the poll's message ID, its creator and secret, and the voter. */
export interface VoteScope {
  pollMessageId: string;
  pollCreator: string;
  voter: string;
  secret: Uint8Array;
}

export interface SealedVote {
  encPayload: Uint8Array;
  encIv: Uint8Array;
}

export class VoteCryptoError extends Error {
  override readonly name = "VoteCryptoError";
}

export function newPollSecret(): Uint8Array {
  return new Uint8Array(randomBytes(POLL_SECRET_BYTES));
}

/** How a poll option is named in a vote. */
export function optionHash(optionName: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(optionName, "utf8").digest());
}

/** The vote key (HKDF-SHA256, no salt, info = poll ID ‖ creator ‖ voter ‖ "Poll Vote") and the GCM additional data. */
export function voteKey(scope: VoteScope): { key: Buffer; aad: Buffer } {
  if (scope.secret.length !== POLL_SECRET_BYTES) throw new VoteCryptoError(`a poll secret has ${POLL_SECRET_BYTES} bytes, got ${scope.secret.length}`);
  const info = Buffer.from(`${scope.pollMessageId}${scope.pollCreator}${scope.voter}${USE_CASE}`, "utf8");
  const key = Buffer.from(hkdfSync("sha256", scope.secret, Buffer.alloc(0), info, 32));
  return { key, aad: Buffer.from(`${scope.pollMessageId}\u0000${scope.voter}`, "utf8") };
}

/** Seals the hashes of the chosen options; `iv` only for test vectors (a fresh one otherwise). */
export function sealVote(scope: VoteScope, selectedHashes: readonly Uint8Array[], iv: Uint8Array = randomBytes(IV_BYTES)): SealedVote {
  const { key, aad } = voteKey(scope);
  const plaintext = toBinary(PollVoteMessageSchema, create(PollVoteMessageSchema, { selectedOptions: [...selectedHashes] }));
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { encPayload: new Uint8Array(body), encIv: new Uint8Array(iv) };
}

/** The hashes of the chosen options; throws VoteCryptoError when the vote is not this voter's in this poll. */
export function openVote(scope: VoteScope, sealed: SealedVote): Uint8Array[] {
  if (sealed.encIv.length !== IV_BYTES) throw new VoteCryptoError(`a vote's IV has ${IV_BYTES} bytes, got ${sealed.encIv.length}`);
  if (sealed.encPayload.length < TAG_BYTES) throw new VoteCryptoError("the sealed vote is shorter than its authentication tag");
  const { key, aad } = voteKey(scope);
  const body = sealed.encPayload.subarray(0, sealed.encPayload.length - TAG_BYTES);
  const tag = sealed.encPayload.subarray(sealed.encPayload.length - TAG_BYTES);
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.encIv).setAAD(aad).setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new VoteCryptoError("the vote does not open with this poll's key (another poll, voter or secret)");
  }
  try {
    return fromBinary(PollVoteMessageSchema, plaintext).selectedOptions.map((h) => new Uint8Array(h));
  } catch (err) {
    throw new VoteCryptoError(`the opened vote is no PollVoteMessage: ${(err as Error).message}`);
  }
}

/** Which of the poll's options the hashes name (indices, in the poll's order), and how many hashes name none. */
export function optionsOfHashes(options: readonly string[], hashes: readonly Uint8Array[]): { selected: number[]; unknown: number } {
  const byHash = new Map(options.map((o, i) => [Buffer.from(optionHash(o)).toString("hex"), i]));
  const selected = new Set<number>();
  let unknown = 0;
  for (const h of hashes) {
    const i = byHash.get(Buffer.from(h).toString("hex"));
    if (i === undefined) unknown++;
    else selected.add(i);
  }
  return { selected: [...selected].sort((a, b) => a - b), unknown };
}
