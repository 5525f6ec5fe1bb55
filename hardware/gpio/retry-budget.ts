// Bounded retries with a doubling delay, for the GPIO backend's long-lived handles
// (the gpiomon process, the requested LED lines): a handle that keeps failing is
// given up on and said so once, instead of being retried forever.

export interface RetryOptions {
  /** delay before the first retry, ms; doubled after each failure in a row */
  firstDelayMs: number;
  maxDelayMs: number;
  /** retries in a row before giving up */
  maxRetries: number;
}

export class RetryBudget {
  private failures = 0;

  constructor(readonly options: RetryOptions) {
    const { firstDelayMs, maxDelayMs, maxRetries } = options;
    if (!(firstDelayMs > 0) || !(maxDelayMs >= firstDelayMs) || !Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new Error(`retry options must have 0 < firstDelayMs <= maxDelayMs and a whole maxRetries >= 0, got ${JSON.stringify(options)}`);
    }
  }

  /** failures since the last success */
  get failuresInARow(): number {
    return this.failures;
  }

  /** Counts a failure: the delay before the next attempt, or null when the retries are spent. */
  failed(): number | null {
    this.failures++;
    if (this.failures > this.options.maxRetries) return null;
    return Math.min(this.options.maxDelayMs, this.options.firstDelayMs * 2 ** (this.failures - 1));
  }

  succeeded(): void {
    this.failures = 0;
  }
}
