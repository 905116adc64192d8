// The provider key is the bridge's identity towards the gatekeeper: an Ed25519 key whose public half
// the gatekeeper operator enlists, and whose private half signs the bridge's authentication tokens.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ensurePrivateParent, writeNewPrivateFile } from "../util/private-files.js";

/** Why `pem` is not a usable provider key, or null when it is one. */
export function providerKeyProblem(pem: string): string | null {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    return "is not a PEM-encoded private key";
  }
  if (key.asymmetricKeyType !== "ed25519") return `holds a ${key.asymmetricKeyType ?? "unknown"} key, expected an Ed25519 key`;
  if (!pem.includes("-----BEGIN PRIVATE KEY-----")) return "must be in PKCS#8 form (-----BEGIN PRIVATE KEY-----)";
  return null;
}

/** The public key as the gatekeeper enlists it: the raw 32 bytes, base64url without padding. */
export function providerPublicKey(privateKeyPem: string): string {
  const jwk = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new Error("the provider key is not an Ed25519 key");
  }
  return jwk.x;
}

/**
 * Writes a fresh Ed25519 private key (PKCS#8 PEM, mode 0600) to `path` and returns its public key.
 * Refuses to overwrite an existing file: replacing the key would lock the bridge out of the gatekeeper.
 */
export function generateProviderKey(path: string): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  ensurePrivateParent(path);
  try {
    writeNewPrivateFile(path, pem);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new Error(`${path} already exists; refusing to overwrite a provider key`);
    }
    throw err;
  }
  return providerPublicKey(pem);
}
