// Provider authentication: short-lived EdDSA JWTs signed with the key a provider enlisted.
// Provider tokens (sub = provider id) open the WebSocket and read the directory, keys and media; user tokens
// (sub = a matrix: URI on one of the provider's domains) are needed to upload that user's keys.
import { createPublicKey, type KeyObject } from "node:crypto";
import { decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import type { Logger } from "pino";
import { unauthorized } from "./http-error.js";
import type { ProviderRegistry } from "./providers.js";
import { matrixUserDomain } from "./uris.js";

export const TOKEN_AUDIENCE = "dma-interop";
export const MAX_TOKEN_LIFETIME_SECONDS = 600;
const CLOCK_TOLERANCE_SECONDS = 30;

export type Principal =
  | { kind: "provider"; providerId: string }
  | { kind: "user"; providerId: string; userUri: string };

export class TokenVerifier {
  private readonly keys = new Map<string, { encoded: string; key: KeyObject }>();

  constructor(
    private readonly providers: ProviderRegistry,
    private readonly log: Logger,
  ) {}

  /** Verifies an `Authorization: Bearer` header; throws a 401 HttpError and logs why (never the token). */
  async verify(authorization: string | undefined, context: string): Promise<Principal> {
    try {
      return await this.verifyOrThrow(authorization);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log.warn({ context, reason }, "rejected provider token");
      throw unauthorized(reason);
    }
  }

  private async verifyOrThrow(authorization: string | undefined): Promise<Principal> {
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
        audience: TOKEN_AUDIENCE,
        issuer: provider.id,
        requiredClaims: ["exp", "sub"],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new Error("token expired");
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw new Error("bad token signature");
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw new Error(`token claim ${err.claim} invalid: ${err.message}`);
      throw new Error(`token rejected: ${err instanceof Error ? err.message : String(err)}`);
    }

    // A stolen long-lived token would be a standing credential; bound the lifetime both from iat and from now.
    const now = Math.floor(Date.now() / 1000);
    const exp = payload.exp!;
    if (exp - now > MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS) throw new Error(`token lifetime exceeds ${MAX_TOKEN_LIFETIME_SECONDS} s`);
    if (payload.iat !== undefined && exp - payload.iat > MAX_TOKEN_LIFETIME_SECONDS) throw new Error(`token lifetime exceeds ${MAX_TOKEN_LIFETIME_SECONDS} s`);

    const sub = payload.sub!;
    if (sub === provider.id) return { kind: "provider", providerId: provider.id };
    const domain = matrixUserDomain(sub);
    if (domain === undefined) throw new Error("token sub is neither the provider id nor a matrix: user URI");
    if (!provider.domains.includes(domain)) throw new Error(`token sub is on domain ${domain}, which provider ${provider.id} does not serve`);
    return { kind: "user", providerId: provider.id, userUri: sub };
  }

  private keyFor(providerId: string, encoded: string): KeyObject {
    const cached = this.keys.get(providerId);
    if (cached && cached.encoded === encoded) return cached.key;
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: encoded }, format: "jwk" });
    this.keys.set(providerId, { encoded, key });
    return key;
  }
}
