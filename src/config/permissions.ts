// Who may use the bridge. The most specific rule wins: a user ID over its server name over "*".
import { parseUserId } from "../matrix/ids.js";
import type { Role } from "./schema.js";

export interface PermissionConfig {
  readonly bridge: { readonly permissions: Readonly<Record<string, Role>> };
}

/** The role of `userId`, or null for no access (also for anything that is not a user ID). */
export function permissionFor(config: PermissionConfig, userId: string): Role | null {
  const parsed = parseUserId(userId);
  if (!parsed) return null;
  const rules = config.bridge.permissions;
  // Own-property lookups only: a key such as "__proto__" must not resolve through the prototype.
  const lookup = (key: string): Role | undefined => (Object.hasOwn(rules, key) ? rules[key] : undefined);
  return lookup(userId) ?? lookup(parsed.serverName) ?? lookup("*") ?? null;
}
