// The key that encrypts the crypto stores at rest: 32 random bytes in a file of its own, readable by the bridge's user
// only, kept outside the store folder so that a copy of the stores alone reveals nothing. (A passphrase would cost a
// key derivation of ~0.4 s on every store open; with hundreds of puppet stores opened on demand that adds up.)
import { randomBytes } from "node:crypto";
import { closeSync, fchmodSync, openSync, readFileSync, writeSync, constants as fsc } from "node:fs";
import { assertPrivateDescriptor, ensurePrivateParent, PRIVATE_FILE_MODE, PrivateFileError } from "../../util/private-files.js";

export const STORE_KEY_BYTES = 32;
const HEADER = "matrix-dma-bridge crypto store key v1\n";

export class StoreKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreKeyError";
  }
}

/** Reads the key at `path`, creating it (mode 0600) if the file does not exist. */
export function loadOrCreateStoreKey(path: string): Uint8Array {
  ensurePrivateParent(path);
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return readStoreKey(path);
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    const key = randomBytes(STORE_KEY_BYTES);
    writeSync(fd, `${HEADER}${key.toString("base64")}\n`);
    return new Uint8Array(key);
  } finally {
    closeSync(fd);
  }
}

export function readStoreKey(path: string): Uint8Array {
  const fd = openSync(path, "r");
  let text: string;
  try {
    try {
      assertPrivateDescriptor(fd, path, "the crypto store key");
    } catch (err) {
      throw err instanceof PrivateFileError ? new StoreKeyError(err.message) : err;
    }
    text = readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
  if (!text.startsWith(HEADER)) throw new StoreKeyError(`${path} is not a crypto store key written by this bridge (first line should be "${HEADER.trim()}")`);
  const body = text.slice(HEADER.length).trim();
  const key = Buffer.from(body, "base64");
  if (key.length !== STORE_KEY_BYTES || key.toString("base64") !== body) {
    throw new StoreKeyError(`the crypto store key in ${path} is damaged: expected ${STORE_KEY_BYTES} bytes in base64`);
  }
  return new Uint8Array(key);
}
