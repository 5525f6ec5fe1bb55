// DeviceClock: when will a given device frame leave the DAC? A model of the
// device's consumption, fitted to many snd_pcm_delay readings, so that no single
// reading moves the schedule.
//
// Every reading gives consumed = written − delay at a monotonic time. A real
// device consumes at a constant rate (its crystal, or for a sound server the
// system clock), so consumed(t) is a straight line — but the readings are not:
//  - sound servers (PulseAudio, PipeWire's pulse/ALSA plugins) report finely
//    (successive readings agree within ~10 µs) but their line moves in discrete
//    steps: 0.3–7 ms, often 1.5 s apart while a stream settles and when other
//    streams join the sink — some moves of the sound, some errors of the report
//    that come back within seconds. One interpolating between timing updates on
//    another clock than the device's adds a sawtooth about the line, bounded by the
//    clocks' difference. Single readings go wild (a reading taken late);
//  - hardware devices report per period (steps of the period size);
//  - a device that ran dry or was stalled (server starved, xrun) really lost time:
//    the line itself moves.
//
// The model therefore separates three time scales (see ARCHITECTURE.md, "Playout"):
//  - the rate: a least-squares slope over a long span (up to `rateWindowUs`), used
//    only once the span is long enough for the sawtooth to average out; before
//    that the nominal rate (or the previous segment's);
//  - the offset: the mean residual over `offsetWindowUs` given that rate — long
//    enough to average several sawtooth periods;
//  - steps: when every reading for `stepConfirmUs` sits more than a threshold off
//    the line on the same side, the device really moved (a sound server that
//    changed its latency when another client connected, a stall): a new segment
//    starts from those readings (the rate is kept). That is the only way the model
//    jumps. The threshold is `stepFrames` or, when more, six times the scatter
//    between successive readings (a per-period reporter's steps are its scatter,
//    not moves) or three times the mean distance of the readings from the model (a
//    sawtooth's excursions are not moves either). Following a server's moves within
//    a tenth of a second put players closer at the sink than averaging them in over
//    the offset window (ARCHITECTURE.md, "Playout").
//
// Coordinates inside a segment are relative to its first reading (t in seconds,
// consumed minus nominalRate·t in frames) so the running sums stay small and exact.

import { LineSums, type Point } from './line-sums.ts';

export interface DeviceClockOptions {
  /** nominal frames per second */
  rate: number;
  /** readings averaged for the offset (default 5 s) */
  offsetWindowUs?: number;
  /** longest span used for the rate (default 60 s) */
  rateWindowUs?: number;
  /** the rate is fitted only over at least this span (default 6 s) */
  minRateSpanUs?: number;
  /** largest believable rate error vs nominal, ppm (default 1000) */
  maxPpm?: number;
  /** a step is a persistent residual beyond this many frames (default 0.5 ms worth; more on a coarse or scattered reporter) */
  stepFrames?: number;
  /** ...held by every reading for this long (default 80 ms) */
  stepConfirmUs?: number;
}

/** t: s since the segment's origin; y: consumed − nominal·t, frames */
type Reading = Point;

export interface ClockStep {
  /** how far the device moved, frames (positive: it consumed more than predicted) */
  frames: number;
  atUs: number;
}

export class DeviceClock {
  readonly nominalRate: number;
  private readonly offsetWindowS: number;
  private readonly rateWindowS: number;
  private readonly minRateSpanS: number;
  private readonly maxSlope: number;
  private readonly stepFrames: number;
  private readonly stepConfirmS: number;

  private originUs = NaN; // segment origin, monotonic µs
  private originConsumed = 0; // consumed frames at the origin
  private readings: Reading[] = [];
  private rateStart = 0; // index of the oldest reading in the rate window
  private offsetStart = 0; // ...in the offset window
  private noiseStart = 0; // ...in the noise window
  private readonly rateSums = new LineSums();
  private readonly offsetSums = new LineSums();
  private readonly noiseSums = new LineSums();
  private priorSlope = 0; // frames/s beyond nominal, carried across segments
  private slopeNow = 0;
  private intercept = 0;
  private outliers: Array<{ t: number; residual: number }> = [];
  private stepCount = 0;
  private noiseFrames: number; // running mean distance of accepted readings from the least-squares line of the last NOISE_WINDOW_S
  private modelNoiseFrames: number; // running mean |residual| of accepted readings against the model (a sawtooth about the line shows here)
  private scatterFrames: number; // running mean |change between successive readings| beyond the line's
  private last: Reading | null = null; // the previous reading of this segment
  private accepted = 0; // readings taken into the line since the last reset: the noise estimates are young below YOUNG_READINGS

  constructor(opts: DeviceClockOptions) {
    if (!(opts.rate > 0)) throw new RangeError(`device clock: rate must be positive, got ${opts.rate}`);
    this.nominalRate = opts.rate;
    this.offsetWindowS = (opts.offsetWindowUs ?? 5e6) / 1e6;
    this.rateWindowS = (opts.rateWindowUs ?? 60e6) / 1e6;
    this.minRateSpanS = (opts.minRateSpanUs ?? 6e6) / 1e6;
    this.maxSlope = (opts.rate * (opts.maxPpm ?? 1000)) / 1e6;
    this.stepFrames = opts.stepFrames ?? Math.round(opts.rate * 0.0005);
    this.stepConfirmS = (opts.stepConfirmUs ?? 80e3) / 1e6;
    this.noiseFrames = INITIAL_NOISE_S * opts.rate;
    this.scatterFrames = INITIAL_NOISE_S * opts.rate;
    this.modelNoiseFrames = INITIAL_NOISE_S * opts.rate;
  }

  /** mean |residual| of the readings around the line, µs: how coarse the device reports */
  get noiseUs(): number {
    return (this.noiseFrames / this.nominalRate) * 1e6;
  }

  // A device that reports precisely (a hardware pointer, the virtual DAC) needs short
  // windows; a sound server's sawtooth needs seconds to average out. Scale both
  // windows with the measured noise, within the configured bounds.
  private get offsetWindowNowS(): number {
    return clamp((this.noiseFrames / this.nominalRate) * 10_000, 0.2, this.offsetWindowS);
  }

  private get minRateSpanNowS(): number {
    return clamp(0.3 + (this.noiseFrames / this.nominalRate) * 6000, 0.3, this.minRateSpanS);
  }

  /** true once at least one reading anchors the line */
  get ready(): boolean {
    return this.readings.length > 0;
  }

  /** the fitted rate's departure from nominal, ppm */
  get ppm(): number {
    return (this.slopeNow / this.nominalRate) * 1e6;
  }

  /** steps (re-anchorings) seen since the last reset */
  get steps(): number {
    return this.stepCount;
  }

  /** Forgets everything (device reopened or restarted). */
  reset(): void {
    this.startSegment(NaN, 0);
    this.priorSlope = 0;
    this.slopeNow = 0;
    this.stepCount = 0;
    this.noiseFrames = INITIAL_NOISE_S * this.nominalRate;
    this.scatterFrames = INITIAL_NOISE_S * this.nominalRate;
    this.modelNoiseFrames = INITIAL_NOISE_S * this.nominalRate;
    this.accepted = 0;
  }

  /** The device restarted (xrun recovered): a new line, the rate kept. */
  restart(): void {
    this.priorSlope = this.slopeNow;
    this.startSegment(NaN, 0);
    this.stepCount++;
  }

  /**
   * Adds a reading: `written` frames handed to the device so far, `delayFrames`
   * of them not yet out, read at `atUs`. Returns the step when this reading
   * confirmed one (the model has then moved to the new line).
   */
  observe(atUs: number, written: number, delayFrames: number): ClockStep | null {
    const consumed = written - delayFrames;
    if (!Number.isFinite(atUs) || !Number.isFinite(consumed)) return null;
    if (Number.isNaN(this.originUs)) this.startSegment(atUs, consumed);
    const t = (atUs - this.originUs) / 1e6;
    const y = consumed - this.originConsumed - this.nominalRate * t;
    const reading = { t, y };
    const last = this.last;
    if (last) {
      // a wild reading counts at most a few times the scatter so far: one does not make the device look coarse
      const change = Math.abs(y - last.y - this.slopeNow * (t - last.t));
      this.scatterFrames += NOISE_GAIN * (Math.min(change, 4 * this.scatterFrames + 1) - this.scatterFrames);
    }
    this.last = reading;
    if (this.readings.length > 0) {
      const residual = y - this.predictY(t);
      // a coarse reporter's own scatter, or a sawtooth about the line, is no step
      // (while the noise estimates are young, only a move of YOUNG_STEP_S or more counts)
      const floor = this.accepted < YOUNG_READINGS ? Math.max(this.stepFrames, YOUNG_STEP_S * this.nominalRate) : this.stepFrames;
      if (Math.abs(residual) > Math.max(floor, STEP_PER_SCATTER * this.scatterFrames, STEP_PER_NOISE * this.modelNoiseFrames)) {
        this.outliers.push({ t, residual });
        const first = this.outliers[0]!;
        const sameSide = this.outliers.every((o) => Math.sign(o.residual) === Math.sign(residual));
        if (!sameSide) this.outliers = [{ t, residual }];
        else if (t - first.t >= this.stepConfirmS && this.outliers.length >= 3) return this.restartAtStep(atUs, consumed);
        return null; // held back until confirmed or contradicted
      }
      this.outliers = [];
      this.accepted++;
      // the distance from the readings' own best line, not from the model: a rate not learnt yet is no noise
      const fromFit = this.noiseSums.n >= 3 ? y - this.noiseSums.at(t) : residual;
      this.noiseFrames += NOISE_GAIN * (Math.abs(fromFit) - this.noiseFrames);
      this.modelNoiseFrames += NOISE_GAIN * (Math.abs(residual) - this.modelNoiseFrames);
    }
    this.push(reading);
    return null;
  }

  /** Predicted frames consumed at monotonic time `atUs`. */
  consumedAt(atUs: number): number {
    const t = (atUs - this.originUs) / 1e6;
    return this.originConsumed + this.nominalRate * t + this.predictY(t);
  }

  /** Predicted monotonic time (µs) at which device frame `frame` (0 = first written) leaves. */
  frameOutUs(frame: number): number {
    // consumed(t) = originConsumed + intercept + (nominal + slope)·t
    const rate = this.nominalRate + this.slopeNow;
    const t = (frame - this.originConsumed - this.intercept) / rate;
    return this.originUs + t * 1e6;
  }

  private predictY(t: number): number {
    return this.intercept + this.slopeNow * t;
  }

  private push(r: Reading): void {
    this.readings.push(r);
    this.rateSums.add(r, 1);
    this.offsetSums.add(r, 1);
    this.noiseSums.add(r, 1);
    while (r.t - this.readings[this.rateStart]!.t > this.rateWindowS) this.rateSums.add(this.readings[this.rateStart++]!, -1);
    const offsetWindow = this.offsetWindowNowS;
    while (r.t - this.readings[this.offsetStart]!.t > offsetWindow) this.offsetSums.add(this.readings[this.offsetStart++]!, -1);
    while (r.t - this.readings[this.noiseStart]!.t > NOISE_WINDOW_S) this.noiseSums.add(this.readings[this.noiseStart++]!, -1);
    const drop = Math.min(this.rateStart, this.offsetStart, this.noiseStart);
    if (drop > 4096) {
      this.readings = this.readings.slice(drop);
      this.rateStart -= drop;
      this.offsetStart -= drop;
      this.noiseStart -= drop;
    }
    this.refit();
  }

  private refit(): void {
    const first = this.readings[this.rateStart]!;
    const last = this.readings[this.readings.length - 1]!;
    const span = last.t - first.t;
    let slope = this.priorSlope;
    const minSpan = this.minRateSpanNowS;
    if (span >= minSpan && this.rateSums.n >= 3) {
      // blend in the fitted slope as the span grows: a short span is dominated by the sawtooth
      const weight = Math.min(1, (span - minSpan) / minSpan + 0.25);
      slope = this.priorSlope + weight * (this.rateSums.slope() - this.priorSlope);
    }
    this.slopeNow = Math.max(-this.maxSlope, Math.min(this.maxSlope, slope));
    const s = this.offsetSums;
    this.intercept = (s.y - this.slopeNow * s.t) / s.n;
  }

  private startSegment(atUs: number, consumed: number): void {
    this.originUs = atUs;
    this.originConsumed = consumed;
    this.readings = [];
    this.rateStart = 0;
    this.offsetStart = 0;
    this.noiseStart = 0;
    this.rateSums.clear();
    this.offsetSums.clear();
    this.noiseSums.clear();
    this.intercept = 0;
    this.outliers = [];
    this.last = null;
  }

  private restartAtStep(atUs: number, consumed: number): ClockStep {
    const before = this.consumedAt(atUs);
    this.priorSlope = this.slopeNow;
    // the new line starts at this reading: the held ones straddle the move (a stall is
    // flat for a while, then runs again), so they would bend it
    this.startSegment(atUs, consumed);
    this.push({ t: 0, y: 0 });
    this.last = { t: 0, y: 0 };
    this.stepCount++;
    return { frames: this.consumedAt(atUs) - before, atUs };
  }
}

const INITIAL_NOISE_S = 0.0003; // assume a sound server until readings show otherwise
const NOISE_GAIN = 0.02;
/** the noise is the readings' distance from their own best line over this span: a rate not learnt yet is no noise, a sawtooth is */
const NOISE_WINDOW_S = 3;
/** a step must exceed this many times the scatter between successive readings... */
const STEP_PER_SCATTER = 6;
/** ...and this many times the readings' mean distance from the line */
const STEP_PER_NOISE = 3;
/** the first readings after a reset (about 1.5 s) say little about the noise yet: only a move of 2 ms or more is a step */
const YOUNG_READINGS = 150;
const YOUNG_STEP_S = 0.002;

function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x));
}
