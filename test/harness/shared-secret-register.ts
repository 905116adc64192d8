import { createHmac, randomBytes } from "node:crypto";

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
}

export interface RegisterOptions {
  admin?: boolean;
  password?: string;
}

/**
 * Registers a user through Synapse's shared-secret admin API: fetch a one-time nonce, then prove knowledge of
 * registration_shared_secret with an HMAC-SHA1 over nonce, user name, password and admin flag. Works while
 * public registration is disabled, which is how the test homeserver runs.
 */
export async function registerWithSharedSecret(
  baseUrl: string,
  sharedSecret: string,
  localpart: string,
  opts: RegisterOptions = {},
): Promise<RegisteredUser> {
  const endpoint = `${baseUrl}/_synapse/admin/v1/register`;
  const nonceBody = await requestJson(endpoint, { method: "GET" }, `nonce for registering ${localpart}`);
  const nonce = nonceBody["nonce"];
  if (typeof nonce !== "string") throw new Error(`${endpoint} returned no nonce: ${JSON.stringify(nonceBody)}`);

  const password = opts.password ?? randomBytes(12).toString("hex");
  const admin = opts.admin ?? false;
  const mac = createHmac("sha1", sharedSecret)
    .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
    .digest("hex");
  const body = await requestJson(
    endpoint,
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
    },
    `registering ${localpart}`,
  );
  const userId = body["user_id"];
  const accessToken = body["access_token"];
  const deviceId = body["device_id"];
  if (typeof userId !== "string" || typeof accessToken !== "string" || typeof deviceId !== "string") {
    throw new Error(`registering ${localpart}: unexpected answer ${JSON.stringify(body)}`);
  }
  return { userId, accessToken, deviceId, password };
}

async function requestJson(url: string, init: RequestInit, what: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: ${init.method ?? "GET"} ${url} answered ${res.status}: ${text}`);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${what}: ${url} answered with non-object JSON: ${text}`);
  }
  return parsed as Record<string, unknown>;
}
