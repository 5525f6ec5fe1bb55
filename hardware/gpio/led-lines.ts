// The LED lines of the gpiod backend: held through libgpiod (libgpiod.ts), each
// change one call. A line that fails (taken by another program, a chip error) is
// reported, released and requested again after a growing delay with the level
// last asked for; after a few failures in a row the LEDs are given up on, said so
// once, and the box runs on without them.

import type { OutputLines } from './libgpiod.ts';
import { RetryBudget, type RetryOptions } from './retry-budget.ts';

export const LED_RETRY: RetryOptions = { firstDelayMs: 500, maxDelayMs: 8000, maxRetries: 5 };

export class LedLines {
  /** the level each line should show, and the level it was last set to */
  private readonly wanted = new Map<number, boolean>();
  private readonly shown = new Map<number, boolean>();
  private readonly retries: RetryBudget;
  private retryTimer: NodeJS.Timeout | null = null;
  private gaveUp = false;
  private closed = false;

  constructor(
    private readonly outputs: OutputLines,
    private readonly onError: (message: string) => void,
    retry: RetryOptions = LED_RETRY,
  ) {
    this.retries = new RetryBudget(retry);
  }

  set(line: number, on: boolean): void {
    if (this.gaveUp) return;
    this.wanted.set(line, on);
    if (!this.retryTimer) this.showWanted(); // else the retry shows the latest level
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.gaveUp = true;
    this.outputs.close();
  }

  private showWanted(): void {
    for (const [line, on] of this.wanted) {
      if (this.shown.get(line) === on) continue;
      try {
        this.outputs.set(line, on);
      } catch (e) {
        this.shown.delete(line);
        this.outputs.release(line); // requested afresh at the retry
        this.failed(line, (e as Error).message);
        return;
      }
      this.shown.set(line, on);
    }
    this.retries.succeeded();
  }

  private failed(line: number, message: string): void {
    const delayMs = this.retries.failed();
    if (delayMs === null) {
      this.gaveUp = true;
      this.onError(`LED line ${line}: ${message}; gave up after ${this.retries.options.maxRetries} retries, the LEDs stay as they are`);
      return;
    }
    this.onError(`LED line ${line}: ${message}; trying again in ${delayMs} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.showWanted();
    }, delayMs);
    this.retryTimer.unref();
  }
}
