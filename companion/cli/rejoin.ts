// When `nearcast join` loses its box (the box restarted, the network dropped), it
// joins again: these are the rules for when, how often and for how long
// (README.md "CLI reference").

import { ErrorCode, type ErrorFrame } from '../../firmware/wire/frames.ts';
import { monotonicMs } from '../../firmware/util/time.ts';

export interface RejoinTiming {
  /** the first retry waits this long; each failure in a row doubles it (ms) */
  firstDelayMs: number;
  /** up to this (ms) */
  maxDelayMs: number;
  /** give up when the box has not come back within this (ms) */
  timeoutMs: number;
}

export const DEFAULT_REJOIN: Omit<RejoinTiming, 'timeoutMs'> = { firstDelayMs: 500, maxDelayMs: 10_000 };

/** a stream that received nothing for this long belongs to a box that went away without closing it */
export const STREAM_SILENT_MS = 8000;

/** One time the box went away: the delays before each attempt, and when to give up. */
export class Outage {
  private attempts = 0;
  readonly startedMs: number;

  constructor(
    readonly reason: string,
    private readonly timing: RejoinTiming,
    private readonly now: () => number = monotonicMs,
  ) {
    const { firstDelayMs, maxDelayMs, timeoutMs } = timing;
    if (!(firstDelayMs > 0) || !(maxDelayMs >= firstDelayMs) || !(timeoutMs >= 0)) {
      throw new RangeError(`rejoin timing must have 0 < firstDelayMs <= maxDelayMs and timeoutMs >= 0, got ${JSON.stringify(timing)}`);
    }
    this.startedMs = now();
  }

  /** attempts made so far */
  get attemptCount(): number {
    return this.attempts;
  }

  elapsedMs(): number {
    return this.now() - this.startedMs;
  }

  /**
   * Counts an attempt and returns how long to wait before making it, or null when
   * the timeout has passed (the last attempt is made at the timeout, not after it).
   */
  nextDelayMs(): number | null {
    const left = this.timing.timeoutMs - this.elapsedMs();
    if (left <= 0) return null;
    const delay = Math.min(this.timing.maxDelayMs, this.timing.firstDelayMs * 2 ** this.attempts);
    this.attempts++;
    return Math.min(delay, left);
  }
}

/**
 * Whether a stream that ended is worth joining again. The box closing it as it
 * shuts down (a restart), or a connection that broke without a word, is; being
 * removed (the owner stopped sharing, a newer connection of ours replaced it) or
 * speaking a protocol the box refuses is not.
 */
export function worthRejoining(error: ErrorFrame | null): boolean {
  return error === null || error.code === ErrorCode.ServerShutdown;
}

/** "2 s", "0.5 s", "7.1 s" */
export function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
