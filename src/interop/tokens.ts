// Short-lived EdDSA tokens that prove to the gatekeeper who is speaking: the provider itself (sub = provider id) or
// one of its Matrix users (sub = the user's matrix: URI). Signed with the provider key the gatekeeper enlisted, and
// addressed (aud) to the one gatekeeper they are for: its base URL, as we are configured to reach it.
import { createPrivateKey, randomUUID, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";

/** The gatekeeper refuses tokens living longer than 10 minutes; 5 keeps a stolen token's value small. */
export const TOKEN_LIFETIME_SECONDS = 300;
/** A cached token is replaced once less than this is left, so it never expires in flight. */
const REFRESH_MARGIN_SECONDS = 60;
const MAX_CACHED_USER_TOKENS = 1000;

/**
 * The `aud` a gatekeeper at `baseUrl` expects (interop-transport §2): origin and path of its base URL, without a
 * trailing slash, so `HTTPS://GK.example:443/` and `https://gk.example` name the same gatekeeper.
 */
export function tokenAudience(baseUrl: string): string {
  const url = new URL(baseUrl);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export interface ProviderTokensOptions {
  /** The gatekeeper's base URL (the one requests go to); becomes the tokens' audience. */
  gatekeeperUrl: string;
  /** Token lifetime in seconds (default 300; the gatekeeper refuses more than 600). */
  lifetimeSeconds?: number;
  now?: () => number;
}

interface Cached {
  token: string;
  expiresAt: number; // seconds
}

export class ProviderTokens {
  readonly audience: string;
  private readonly key: KeyObject;
  private readonly cache = new Map<string, Cached>();
  private readonly lifetimeSeconds: number;
  private readonly refreshMarginSeconds: number;
  private readonly now: () => number;

  /** `privateKey`: the provider's Ed25519 private key, as a KeyObject or PKCS#8 PEM text. */
  constructor(
    readonly providerId: string,
    privateKey: KeyObject | string,
    options: ProviderTokensOptions,
  ) {
    this.key = typeof privateKey === "string" ? createPrivateKey({ key: privateKey, format: "pem" }) : privateKey;
    if (this.key.type !== "private" || this.key.asymmetricKeyType !== "ed25519") {
      throw new Error("the provider key must be an Ed25519 private key");
    }
    this.audience = tokenAudience(options.gatekeeperUrl);
    this.lifetimeSeconds = options.lifetimeSeconds ?? TOKEN_LIFETIME_SECONDS;
    this.refreshMarginSeconds = Math.min(REFRESH_MARGIN_SECONDS, Math.floor(this.lifetimeSeconds / 2));
    this.now = options.now ?? Date.now;
  }

  /** Token for the provider's own HTTP requests: directory, bundles, media. Reused until close to expiry. */
  providerToken(): Promise<string> {
    return this.cached(this.providerId);
  }

  /** Token for requests on behalf of one Matrix user (uploading that user's keys). */
  userToken(userUri: string): Promise<string> {
    return this.cached(userUri);
  }

  /** A new token for opening the WebSocket: never cached, since the gatekeeper accepts each one (its jti) once, and
   * the connection lasts until it expires. */
  connectionToken(): Promise<{ token: string; expiresAt: number }> {
    return this.mint(this.providerId);
  }

  private async cached(subject: string): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    const cached = this.cache.get(subject);
    if (cached && cached.expiresAt - nowS > this.refreshMarginSeconds) return cached.token;
    const minted = await this.mint(subject);
    if (this.cache.size >= MAX_CACHED_USER_TOKENS) this.cache.clear();
    this.cache.set(subject, minted);
    return minted.token;
  }

  private async mint(subject: string): Promise<{ token: string; expiresAt: number }> {
    const nowS = Math.floor(this.now() / 1000);
    const expiresAt = nowS + this.lifetimeSeconds;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
      .setIssuer(this.providerId)
      .setSubject(subject)
      .setAudience(this.audience)
      .setJti(randomUUID())
      .setIssuedAt(nowS)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, expiresAt };
  }
}
