// A virtual play-head: frames "leave" at a fixed rate from the first write on,
// against whatever clock the caller passes in. The virtual DAC is built on it, and
// the ALSA sink uses it to pace unclocked plugins (null, file) that would otherwise
// swallow audio instantly and report a delay of 0. Pure: no timers, no Node APIs
// except in realSinkClock.

import { monotonicUs, sleep } from '../../firmware/util/time.ts';

/** The clock a sink paces against; injectable so tests can drive time. */
export interface SinkClock {
  nowUs(): number;
  sleepUs(us: number): Promise<void>;
}

export const realSinkClock: SinkClock = {
  nowUs: monotonicUs,
  // setTimeout has millisecond granularity; rounding up never wakes us too early.
  sleepUs: (us) => sleep(Math.max(1, Math.ceil(us / 1000))),
};

/** A stretch of frames played back to back, starting at startUs (a new run begins after each underrun). */
interface Run {
  firstFrame: number;
  startUs: number;
}

export class PacedClock {
  private readonly usPerFrame: number;
  private readonly runs: Run[] = [];
  private writtenFrames = 0;
  private starved = false;
  private underrunCount = 0;

  /**
   * @param framesPerSecond rate at which the play-head consumes frames (may include a ppm drift)
   * @param bufferFrames how many frames may be queued before writers must wait
   */
  constructor(
    readonly framesPerSecond: number,
    readonly bufferFrames: number,
  ) {
    if (!(framesPerSecond > 0) || !Number.isFinite(framesPerSecond)) {
      throw new Error(`PacedClock: framesPerSecond must be a positive number, got ${framesPerSecond}`);
    }
    if (!(bufferFrames >= 1) || !Number.isFinite(bufferFrames)) {
      throw new Error(`PacedClock: bufferFrames must be at least 1, got ${bufferFrames}`);
    }
    this.usPerFrame = 1_000_000 / framesPerSecond;
  }

  get written(): number {
    return this.writtenFrames;
  }

  get underruns(): number {
    return this.underrunCount;
  }

  /** Frames written but not yet played at nowUs (fractional, ≥ 0). */
  delayFrames(nowUs: number): number {
    this.observe(nowUs);
    const run = this.currentRun();
    if (!run || this.starved) return 0;
    const played = run.firstFrame + (nowUs - run.startUs) / this.usPerFrame;
    return Math.max(0, this.writtenFrames - played);
  }

  /** Free room in the buffer at nowUs, in whole frames. */
  roomFrames(nowUs: number): number {
    return Math.max(0, Math.floor(this.bufferFrames - this.delayFrames(nowUs)));
  }

  /**
   * How long to wait before `frames` frames fit in the buffer (0 when they fit now).
   * Writes bigger than the buffer wait for a full buffer of room and then overfill it.
   */
  usUntilRoom(frames: number, nowUs: number): number {
    const need = Math.min(frames, this.bufferFrames);
    const excess = this.delayFrames(nowUs) - (this.bufferFrames - need);
    return excess <= 0 ? 0 : Math.ceil(excess * this.usPerFrame);
  }

  /** Appends frames at nowUs. If the play-head had run dry, they start playing now. */
  commit(frames: number, nowUs: number): void {
    if (!Number.isInteger(frames) || frames < 0) {
      throw new Error(`PacedClock: frames must be a non-negative integer, got ${frames}`);
    }
    if (frames === 0) return;
    this.observe(nowUs);
    if (this.runs.length === 0 || this.starved) {
      this.runs.push({ firstFrame: this.writtenFrames, startUs: nowUs });
      this.starved = false;
    }
    this.writtenFrames += frames;
  }

  /** Time at which frame n (0 = first frame ever written) leaves / left the play-head. */
  frameOutUs(n: number): number {
    if (!Number.isFinite(n) || n < 0 || n >= this.writtenFrames) {
      throw new Error(`PacedClock: frame ${n} was never written (${this.writtenFrames} written)`);
    }
    // Binary search for the last run starting at or before n.
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid]!.firstFrame <= n) lo = mid;
      else hi = mid - 1;
    }
    const run = this.runs[lo]!;
    return run.startUs + (n - run.firstFrame) * this.usPerFrame;
  }

  private currentRun(): Run | undefined {
    return this.runs[this.runs.length - 1];
  }

  /** Notices (once) that the play-head passed the last written frame: an underrun. */
  private observe(nowUs: number): void {
    const run = this.currentRun();
    if (!run || this.starved) return;
    const endUs = run.startUs + (this.writtenFrames - run.firstFrame) * this.usPerFrame;
    if (nowUs > endUs) {
      this.starved = true;
      this.underrunCount++;
    }
  }
}

/**
 * Waits (sleeping, never spinning) until `frames` fit into the paced buffer.
 * Bounded: each sleep is the computed time to room, so a few rounds suffice.
 */
export async function waitForRoom(paced: PacedClock, frames: number, clock: SinkClock): Promise<void> {
  for (let round = 0; round < 1000; round++) {
    const waitUs = paced.usUntilRoom(frames, clock.nowUs());
    if (waitUs <= 0) return;
    await clock.sleepUs(waitUs);
  }
  throw new Error('PacedClock: buffer never drained (is the clock advancing?)');
}
