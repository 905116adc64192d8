// Files that hold keys, ratchet state or queued plaintext: created readable by the bridge's user only, whatever the
// process umask, and refused when someone else has made them readable to other users.
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, constants as fsc, fchmodSync, fstatSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** A private file that group or others can read or write; the message names the file and the fix. */
export class PrivateFileError extends Error {
  override readonly name = "PrivateFileError";
}

/**
 * Why a file of this mode may not hold secrets, or null when only its owner has access. `what` names the file for the
 * operator ("the database", "the crypto store key").
 */
export function privateModeProblem(path: string, what: string, mode: number): string | null {
  const bits = mode & 0o777;
  if ((bits & 0o077) === 0) return null;
  return `${what} ${path} is readable by other users (mode ${bits.toString(8).padStart(3, "0")}); run: chmod 600 ${path}`;
}

/** Throws PrivateFileError when the file at `path` (if it exists) is open to group or others. */
export function assertPrivateFile(path: string, what: string): void {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const problem = privateModeProblem(path, what, mode);
  if (problem) throw new PrivateFileError(problem);
}

/** The same check on an open descriptor (no window between the check and the read). */
export function assertPrivateDescriptor(fd: number, path: string, what: string): void {
  const problem = privateModeProblem(path, what, fstatSync(fd).mode);
  if (problem) throw new PrivateFileError(problem);
}

/**
 * Creates an empty file with mode 0600 if none exists, so that whatever opens it next (SQLite) inherits that mode.
 * fchmod makes the mode exact: the creation mode is only an upper bound, cut down by the umask. Returns whether the
 * file was created.
 */
export function createPrivateFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Writes a new file (mode 0600); fails with EEXIST rather than replacing one. */
export function writeNewPrivateFile(path: string, content: string | Uint8Array): void {
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` via a fresh temporary file (mode 0600), so a crash never leaves it half-written. */
export function writePrivateFileAtomically(path: string, content: string): void {
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeNewPrivateFile(temporary, content);
    renameSync(temporary, path);
  } catch (err) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
}

/**
 * mkdir -p with mode 0700 for every directory it creates (made exact with chmod, past the umask). Directories that
 * already exist are the operator's and are left as they are.
 */
export function ensurePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  chmodSync(first, PRIVATE_DIR_MODE);
  let current = first;
  for (const part of relative(first, dir).split(sep).filter((p) => p !== "")) {
    current = join(current, part);
    chmodSync(current, PRIVATE_DIR_MODE);
  }
}

/** ensurePrivateDir for the directory a file goes into. */
export function ensurePrivateParent(path: string): void {
  ensurePrivateDir(dirname(path));
}

/** Tightens a file that exists to 0600 (files a library created from another file's mode, e.g. SQLite's -wal). */
export function tightenIfPresent(path: string): void {
  try {
    chmodSync(path, PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
