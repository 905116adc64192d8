// Matrix encrypted attachments (the `file` field of m.image, m.file, ... in encrypted rooms): AES-256-CTR with a
// fresh key per file and a SHA-256 of the ciphertext, as the spec requires. The media feature uploads the ciphertext
// and puts the returned info, with the mxc URL, into the event.
import { Attachment, EncryptedAttachment } from "@matrix-org/matrix-sdk-crypto-wasm";

/** The spec's EncryptedFile without `url`, which the uploader adds. */
export interface EncryptedFileInfo {
  v: string;
  key: { kty: string; key_ops: string[]; alg: string; k: string; ext: boolean };
  iv: string;
  hashes: Record<string, string>;
}

export interface SealedAttachment {
  ciphertext: Uint8Array;
  info: EncryptedFileInfo;
}

export class AttachmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AttachmentError";
  }
}

/** Encrypts a file for an encrypted room. */
export function encryptAttachment(plaintext: Uint8Array): SealedAttachment {
  const sealed = Attachment.encrypt(plaintext);
  try {
    const info = sealed.mediaEncryptionInfo;
    if (info === undefined) throw new AttachmentError("the crypto engine returned no encryption info for the attachment");
    return { ciphertext: sealed.encryptedData, info: JSON.parse(info) as EncryptedFileInfo };
  } finally {
    sealed.free();
  }
}

/** Decrypts a downloaded attachment; a wrong hash or key is an AttachmentError, never garbage. */
export function decryptAttachment(ciphertext: Uint8Array, info: EncryptedFileInfo & { url?: string }): Uint8Array {
  const { url: _url, ...rest } = info;
  let sealed: EncryptedAttachment;
  try {
    sealed = new EncryptedAttachment(ciphertext, JSON.stringify(rest));
  } catch (err) {
    throw new AttachmentError(`the attachment's encryption info is not valid: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return Attachment.decrypt(sealed);
  } catch (err) {
    throw new AttachmentError(`the attachment could not be decrypted (corrupt download or wrong key): ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    sealed.free();
  }
}
