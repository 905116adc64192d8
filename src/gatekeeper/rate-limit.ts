// Token bucket per key (a provider): `burst` sends at once, refilled at `perSecond`.
export interface RateLimitConfig {
  burst: number;
  perSecond: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(config.burst >= 1) || !(config.perSecond > 0)) throw new Error("rate limit needs burst >= 1 and perSecond > 0");
  }

  /** Takes one token; returns 0 when allowed, otherwise the milliseconds until a token is available. */
  take(key: string): number {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.config.burst, at: now };
    bucket.tokens = Math.min(this.config.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.config.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - bucket.tokens) / this.config.perSecond) * 1000));
  }
}
