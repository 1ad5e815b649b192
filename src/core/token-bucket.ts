/**
 * A token bucket: `burst` tokens at most, refilled at `perSecond`. Time comes from the caller, so the
 * bucket is a pure function of the moments it is asked at.
 */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt: number;

  constructor(rate: { perSecond: number; burst: number }, now: number) {
    this.#perSecond = rate.perSecond;
    this.#burst = rate.burst;
    this.#tokens = rate.burst;
    this.#refilledAt = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#perSecond);
    this.#refilledAt = now;
  }

  /** Takes a token if one is there (0); otherwise takes none and says how long until one is. */
  tryTake(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return ((1 - this.#tokens) / this.#perSecond) * 1000;
  }

  /**
   * Takes a token now, in debt if need be, and says how long the caller waits before using it: callers
   * are served in the order they asked, each after the one before.
   */
  reserve(now: number): number {
    this.#refill(now);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#perSecond) * 1000;
  }
}
