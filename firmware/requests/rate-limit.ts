// Per-client token bucket: `burst` requests at once, refilled at `perMinute`.

import { monotonicMs } from '../util/time.ts';

export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private perMinute: number,
    private burst: number,
    private now: () => number = monotonicMs,
  ) {}

  /** Takes one token; returns 0 when allowed, else the ms to wait. */
  take(clientId: string): number {
    const now = this.now();
    const b = this.buckets.get(clientId) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) * this.perMinute) / 60_000);
    b.at = now;
    this.buckets.set(clientId, b);
    if (this.buckets.size > 10_000) this.buckets.delete(this.buckets.keys().next().value as string);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 60_000) / this.perMinute);
  }

  forget(clientId: string): void {
    this.buckets.delete(clientId);
  }
}
