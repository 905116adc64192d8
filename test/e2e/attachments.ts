// Matrix media as a client handles it, for the e2e suites: uploads, authenticated downloads, and encrypted
// attachments made with WebCrypto (independent of the bridge's own code).
import assert from "node:assert/strict";
import { createHash, webcrypto } from "node:crypto";
import type { MatrixClient } from "matrix-js-sdk";

export type EncryptedFile = { url: string; key: webcrypto.JsonWebKey; iv: string; hashes: { sha256: string }; v: string };

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
export const unpadded = (b: Uint8Array) => Buffer.from(b).toString("base64").replace(/=+$/, "");

export async function upload(client: MatrixClient, bytes: Uint8Array, type: string, name?: string): Promise<string> {
  const { content_uri } = await client.uploadContent(new Blob([bytes], { type }), { type, ...(name ? { name } : {}) });
  return content_uri;
}

/** Downloads through the authenticated media API, as a current client does. */
export async function download(client: MatrixClient, mxc: string): Promise<Buffer> {
  const [server, id] = mxc.slice("mxc://".length).split("/");
  const res = await fetch(`${client.getHomeserverUrl()}/_matrix/client/v1/media/download/${server}/${id}`, { headers: { authorization: `Bearer ${client.getAccessToken()}` } });
  assert.equal(res.status, 200, `download of ${mxc}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Matrix encrypted attachments as a web client makes them (WebCrypto AES-CTR, independent of the bridge's code). */
export async function encryptLikeAClient(plaintext: Uint8Array): Promise<{ ciphertext: Buffer; file: Omit<EncryptedFile, "url"> }> {
  const iv = new Uint8Array(16);
  webcrypto.getRandomValues(iv.subarray(0, 8));
  const key = await webcrypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
  const ciphertext = Buffer.from(await webcrypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plaintext));
  return { ciphertext, file: { key: await webcrypto.subtle.exportKey("jwk", key), iv: unpadded(iv), hashes: { sha256: unpadded(createHash("sha256").update(ciphertext).digest()) }, v: "v2" } };
}

export async function decryptLikeAClient(ciphertext: Uint8Array, file: EncryptedFile): Promise<Buffer> {
  assert.equal(unpadded(createHash("sha256").update(ciphertext).digest()), file.hashes.sha256.replace(/=+$/, ""), "the attachment matches its hash");
  const key = await webcrypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter: Buffer.from(file.iv, "base64"), length: 64 }, key, ciphertext));
}

