// Provider authentication: short-lived EdDSA JWTs signed with the key a provider enlisted.
// Provider tokens (sub = provider id) open the WebSocket and read the directory, keys and media; user tokens
// (sub = a matrix: URI on one of the provider's domains) are needed to upload that user's keys.
// The audience is this gatekeeper's own base URL, so a token minted for another gatekeeper (or for a test instance)
// is worthless here; a token that opens the WebSocket must carry a jti and is good for one connection only.
import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import type { Logger } from "pino";
import { unauthorized } from "./http-error.js";
import type { ProviderRegistry } from "./providers.js";
import type { UsedTokenIds } from "./token-ids.js";
import { matrixUserDomain } from "./uris.js";

export const MAX_TOKEN_LIFETIME_SECONDS = 600;
export const CLOCK_TOLERANCE_SECONDS = 30;
const MAX_JTI_LENGTH = 128;

/**
 * The audience a gatekeeper reachable at `baseUrl` expects: the URL's origin and path, without a trailing slash
 * (`HTTPS://Interop.Example:443/` -> `https://interop.example`). Written here independently of the bridge's copy,
 * so that the two sides check each other against the spec.
 */
export function audienceOf(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`the gatekeeper's public URL must be http(s), got ${baseUrl}`);
  if (url.search || url.hash || url.username || url.password) throw new Error(`the gatekeeper's public URL must be a plain base URL, got ${baseUrl}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export type Principal = (
  | { kind: "provider"; providerId: string }
  | { kind: "user"; providerId: string; userUri: string }
) & {
  /** The token's exp (seconds since the epoch): a connection it opened lasts no longer. */
  expiresAt: number;
};

export interface VerifyOptions {
  /** The token must carry a jti not seen before from its issuer (the WebSocket upgrade). */
  singleUse?: boolean;
}

export class TokenVerifier {
  private readonly keys = new Map<string, { encoded: string; key: KeyObject }>();
  private audience: string | undefined;

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly usedIds: UsedTokenIds,
    private readonly log: Logger,
  ) {}

  /** Sets the base URL providers reach this gatekeeper at. Until then every token is refused (fail closed). */
  setPublicUrl(baseUrl: string): void {
    this.audience = audienceOf(baseUrl);
  }

  get expectedAudience(): string | undefined {
    return this.audience;
  }

  /** Verifies an `Authorization: Bearer` header; throws a 401 HttpError and logs why (never the token). */
  async verify(authorization: string | undefined, context: string, options: VerifyOptions = {}): Promise<Principal> {
    try {
      return await this.verifyOrThrow(authorization, options);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log.warn({ context, reason }, "rejected provider token");
      throw unauthorized(reason);
    }
  }

  private async verifyOrThrow(authorization: string | undefined, options: VerifyOptions): Promise<Principal> {
    const audience = this.audience;
    if (audience === undefined) throw new Error("the gatekeeper does not know its public URL yet");
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization ?? "");
    if (!match) throw new Error("missing or malformed Authorization: Bearer header");
    const token = match[1]!;
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new Error("token is not a JWT");
    }
    if (!issuer) throw new Error("token has no iss (provider id)");
    const provider = this.providers.get(issuer);
    if (!provider) throw new Error(`unknown provider ${JSON.stringify(issuer.slice(0, 64))}`);

    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.keyFor(provider.id, provider.publicKey), {
        algorithms: ["EdDSA", "Ed25519"],
        audience,
        issuer: provider.id,
        requiredClaims: ["exp", "sub"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new Error("token expired");
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new Error("bad token signature");
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        if (err.claim === "aud") throw new Error(`token aud must be ${audience} (this gatekeeper's public URL)`);
        throw new Error(`token claim ${err.claim} invalid: ${err.message}`);
      }
      throw new Error(`token rejected: ${err instanceof Error ? err.message : String(err)}`);
    }

    // A stolen long-lived token would be a standing credential; bound the lifetime both from iat and from now.
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp!;
    if (exp - now > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) throw new Error(`token lifetime exceeds ${MAX_TOKEN_LIFETIME_SECONDS} s`);
    if (payload.iat !== undefined && exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) throw new Error(`token lifetime exceeds ${MAX_TOKEN_LIFETIME_SECONDS} s`);

    const sub = payload.sub!;
    let principal: Principal;
    if (sub === provider.id) principal = { kind: "provider", providerId: provider.id, expiresAt: exp };
    else {
      const domain = matrixUserDomain(sub);
      if (domain === undefined) throw new Error("token sub is neither the provider id nor a matrix: user URI");
      if (!provider.domains.includes(domain)) throw new Error(`token sub is on domain ${domain}, which provider ${provider.id} does not serve`);
      principal = { kind: "user", providerId: provider.id, userUri: sub, expiresAt: exp };
    }
    // Claimed last, after every other check: a token refused for another reason must not use up its id.
    if (options.singleUse) {
      const jti = payload.jti;
      if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new Error(`this endpoint needs a token with a jti (1..${MAX_JTI_LENGTH} characters)`);
      if (!this.usedIds.claim(provider.id, jti, exp + CLOCK_TOLERANCE_SECONDS)) throw new Error("token jti was already used (replayed token)");
    }
    return principal;
  }

  private keyFor(providerId: string, encoded: string): KeyObject {
    const cached = this.keys.get(providerId);
    if (cached && cached.encoded === encoded) return cached.key;
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: encoded }, format: "jwk" });
    this.keys.set(providerId, { encoded, key });
    return key;
  }
}
