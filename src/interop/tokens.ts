// Short-lived EdDSA tokens that prove to the gatekeeper who is speaking: the provider itself (sub = provider id) or
// one of its Matrix users (sub = the user's matrix: URI). Signed with the provider key the gatekeeper enlisted.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";

export const TOKEN_AUDIENCE = "dma-interop";
/** The gatekeeper refuses tokens living longer than 10 minutes; 5 keeps a stolen token's value small. */
export const TOKEN_LIFETIME_SECONDS = 300;
/** A cached token is replaced once less than this is left, so it never expires in flight. */
const REFRESH_MARGIN_SECONDS = 60;
const MAX_CACHED_USER_TOKENS = 1000;

interface Cached {
  token: string;
  expiresAt: number; // seconds
}

export class ProviderTokens {
  private readonly key: KeyObject;
  private readonly cache = new Map<string, Cached>();

  /** `privateKey`: the provider's Ed25519 private key, as a KeyObject or PKCS#8 PEM text. */
  constructor(
    readonly providerId: string,
    privateKey: KeyObject | string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = typeof privateKey === "string" ? createPrivateKey({ key: privateKey, format: "pem" }) : privateKey;
    if (this.key.type !== "private" || this.key.asymmetricKeyType !== "ed25519") {
      throw new Error("the provider key must be an Ed25519 private key");
    }
  }

  /** Token for the provider's own requests: the WebSocket, directory, bundles, media. */
  providerToken(): Promise<string> {
    return this.token(this.providerId);
  }

  /** Token for requests on behalf of one Matrix user (uploading that user's keys). */
  userToken(userUri: string): Promise<string> {
    return this.token(userUri);
  }

  private async token(subject: string): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    const cached = this.cache.get(subject);
    if (cached && cached.expiresAt - nowS > REFRESH_MARGIN_SECONDS) return cached.token;
    const expiresAt = nowS + TOKEN_LIFETIME_SECONDS;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", typ: "JWT" })
      .setIssuer(this.providerId)
      .setSubject(subject)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(nowS)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    if (this.cache.size >= MAX_CACHED_USER_TOKENS) this.cache.clear();
    this.cache.set(subject, { token, expiresAt });
    return token;
  }
}
