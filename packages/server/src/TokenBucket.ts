/**
 * A session's message rate limit: `perSecond` tokens a second refill a bucket of `burst`; each
 * message takes one, and a message finding none is over the limit.
 */
export class TokenBucket {
  private tokens: number;
  private lastRefill: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.lastRefill = now;
  }

  /** Takes a token at time `now` (ms); false if none is left. */
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.perSecond);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}
