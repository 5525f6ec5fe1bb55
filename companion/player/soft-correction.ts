// The playout's soft correction: the error of the playout against the device model
// (scheduler.ts: positive = late), averaged over a third of a second so that the model's
// noise averages out, and the single frames dropped (late) or repeated (early) that work
// it off — a PI controller — spread evenly through each block written. A resync is the
// scheduler's decision; this says when an error has persisted long enough to need one.

export interface SoftCorrectionOptions {
  /** frames per second */
  rate: number;
  /** errors within it get no proportional correction, µs */
  deadbandUs: number;
  /** errors beyond it that persist for HARD_CONFIRM measurements call for a resync, µs */
  hardUs: number;
  /** while settling, at most one frame per this many is corrected... */
  settleSpacing: number;
  /** ...afterwards, one per this many */
  softSpacing: number;
  /** measurements averaged */
  averageOver: number;
  /** an error is worked off with this time constant, s */
  correctionTauS: number;
}

/** Where each output frame of a block is read from: `n` frames from read position `pos` (−1: the frame before the block). */
export type ReadSpan = { pos: number; n: number };

export class SoftCorrection {
  private errors: number[] = [];
  private beyondHard = 0;
  private credit = 0; // frames owed to the correction (+ drop, − repeat)
  private driftRate = 0; // learnt stream-vs-device drift, frames/s (the integral term)

  constructor(private readonly o: SoftCorrectionOptions) {}

  /** Adds a measurement of the error (µs) and returns the running average. */
  measure(errorUs: number): number {
    this.errors.push(errorUs);
    if (this.errors.length > this.o.averageOver) this.errors.shift();
    this.beyondHard = Math.abs(errorUs) > this.o.hardUs ? this.beyondHard + 1 : 0;
    return this.errors.reduce((a, b) => a + b, 0) / this.errors.length;
  }

  /** the error has stayed beyond the hard threshold for HARD_CONFIRM measurements in a row */
  get hardPersists(): boolean {
    return this.beyondHard >= HARD_CONFIRM;
  }

  /**
   * A PI controller on the averaged error (in frames): the proportional part works an
   * error off with time constant correctionTau (smoothly, so a small noisy error costs an
   * occasional frame and never a back-and-forth chatter); the integral part learns the
   * steady drift between the stream clock and the device clock so that a drifting device
   * sits at zero error, not at drift × tau. Corrections are single frames, at most one per
   * `spacing` frames (0.1 %, or 0.5 % while settling). Returns the frames to drop (> 0:
   * late) or repeat (< 0: early) in the next block of `n` frames.
   */
  next(avgUs: number, settling: boolean, n: number): number {
    const { rate, deadbandUs, correctionTauS } = this.o;
    const spacing = settling ? this.o.settleSpacing : this.o.softSpacing;
    const maxRate = rate / spacing; // frames per second
    const tau = settling ? SETTLE_TAU_S : correctionTauS;
    const framesOff = (avgUs * rate) / 1e6;
    const dt = n / rate;
    // anti-windup: only a small error says something about drift; a large one is a jump being worked off
    // (at the steady time constant even while settling: a fast proportional part must not wind the drift estimate up)
    if (Math.abs(avgUs) < INTEGRATE_BELOW_US) this.driftRate = clamp(this.driftRate + (framesOff / (correctionTauS * INTEGRAL_TAU_S)) * dt, -maxRate, maxRate);
    const proportional = Math.abs(avgUs) > deadbandUs ? framesOff / tau : 0;
    const perBlock = Math.max(1, Math.floor(n / spacing));
    this.credit = clamp(this.credit + clamp(proportional + this.driftRate, -maxRate, maxRate) * dt, -perBlock - 1, perBlock + 1);
    return clamp(Math.trunc(this.credit), -perBlock, perBlock);
  }

  /** The correction `corr` (from next()) was played: owed no more, and the stored measurements, which predate it, shifted so the average stays true. */
  applied(corr: number): void {
    if (corr === 0) return;
    this.credit -= corr;
    const shiftUs = (corr * 1e6) / this.o.rate;
    this.errors = this.errors.map((x) => x - shiftUs);
  }

  /** Forgets the measurements and what is owed (a resync, a new lead-in); the learnt drift stays. */
  reset(): void {
    this.errors = [];
    this.beyondHard = 0;
    this.credit = 0;
  }

  /** Forgets the learnt drift too (a new start). */
  forgetDrift(): void {
    this.driftRate = 0;
  }
}

/**
 * When corrections run at the settling rate rather than the steady one: for `settleUs` after
 * playout begins (young clock estimates) or after the device moved, and after a move for as
 * long as the averaged error stays beyond MOVE_LEFT_US (at most MOVE_SETTLE_MAX_US). A move
 * of 20–30 ms (a sound server catching up after it was held, ARCHITECTURE.md "Playout") is
 * then worked off in 4–6 s, where the steady 0.1 % left ~10 ms of it for another 10 s.
 */
export class SettleWindow {
  private sinceUs = Number.NaN;
  private moveUntilUs = Number.NaN; // after a move: settling while the error is beyond MOVE_LEFT_US, until then

  constructor(private readonly settleUs: number) {}

  /** the first audible frame (or the first after a new lead-in) */
  begin(nowUs: number): void {
    this.sinceUs = nowUs;
    this.moveUntilUs = Number.NaN;
  }

  /** the device moved (its line stepped, or it ran dry) */
  moved(nowUs: number): void {
    this.sinceUs = nowUs;
    this.moveUntilUs = nowUs + MOVE_SETTLE_MAX_US;
  }

  /** true while corrections may run at the settling rate, given the averaged error now */
  settling(nowUs: number, avgUs: number): boolean {
    if (nowUs - this.sinceUs < this.settleUs) return true;
    if (!(nowUs < this.moveUntilUs)) return false;
    if (Math.abs(avgUs) > MOVE_LEFT_US) return true;
    this.moveUntilUs = Number.NaN; // worked off: steady from here, whatever the noise does next
    return false;
  }
}

/**
 * Read positions of a block's `n` output frames when `corr` frames are dropped
 * (corr > 0: n + corr frames read) or repeated (corr < 0: n − |corr| read), the
 * corrections spread evenly through the block.
 */
export function spansOf(corr: number, n: number): ReadSpan[] {
  const k = Math.abs(corr);
  if (k === 0) return [{ pos: 0, n }];
  const spans: ReadSpan[] = [];
  let pos = 0;
  let out = 0;
  for (let j = 1; j <= k; j++) {
    const len = Math.round((j * n) / (k + 1)) - out;
    if (len > 0) spans.push({ pos, n: len });
    pos += len;
    out += len;
    if (corr > 0)
      pos += 1; // skip one read frame
    else {
      spans.push({ pos: pos - 1, n: 1 }); // play the previous frame again
      out += 1;
    }
  }
  spans.push({ pos, n: n - out });
  return spans;
}

/** Builds a block of `n` frames from the frames read (`pcm`) along `spans`; `before` is the frame played before the block. */
export function spliceSpans(pcm: Int16Array, spans: ReadSpan[], n: number, before: Int16Array): Int16Array {
  const ch = before.length;
  const out = new Int16Array(n * ch);
  let at = 0;
  for (const span of spans) {
    if (span.pos < 0)
      out.set(before, at * ch); // a repeat before the block's first frame
    else out.set(pcm.subarray(span.pos * ch, (span.pos + span.n) * ch), at * ch);
    at += span.n;
  }
  return out;
}

const HARD_CONFIRM = 5; // consecutive measurements beyond the hard threshold
const SETTLE_TAU_S = 0.25; // while settling, errors are worked off quickly (within the settle rate cap)
const INTEGRAL_TAU_S = 6; // the drift estimate follows over several seconds
const INTEGRATE_BELOW_US = 1000;
const MOVE_LEFT_US = 1000; // what is left of a move below this is worked off at the steady rate
const MOVE_SETTLE_MAX_US = 15e6; // a move is worked off at the settling rate for at most this long

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
