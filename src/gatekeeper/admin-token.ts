// What an admin client finds in the data directory: the admin API's bearer token (generated once into
// <data-dir>/admin-token, readable only by its owner) and the URL the running server's admin API listens on.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const ADMIN_TOKEN_FILE = "admin-token";
export const ADMIN_URL_FILE = "admin-url";

/** Written at each start: the admin port may be chosen by the system (port 0). */
export function writeAdminUrl(dataDir: string, url: string): void {
  const path = join(dataDir, ADMIN_URL_FILE);
  writeFileSync(`${path}.tmp`, `${url}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/** The admin URL the last server on this data directory wrote, or undefined when there is none. */
export function readAdminUrl(dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, ADMIN_URL_FILE), "utf8").trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

export function ensureAdminToken(dataDir: string): string {
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    return readAdminToken(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomBytes(32).toString("base64url");
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  return token;
}

export function readAdminToken(path: string): string {
  const token = readFileSync(path, "utf8").trim();
  if (token.length < 16) throw new Error(`admin token file ${path} is empty or too short`);
  // A token other users can read would let them drive the gatekeeper.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  return token;
}

export function adminTokenMatches(expected: string, authorization: string | undefined): boolean {
  const match = /^Bearer (\S+)$/.exec(authorization ?? "");
  if (!match) return false;
  const a = Buffer.from(match[1]!);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
