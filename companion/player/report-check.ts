// Start check for a sound server's delay report (ARCHITECTURE.md, "Playout").
//
// Behind ALSA's `pulse` PCM the delay a player reads is libpulse's interpolation: a
// line from the stream's first timing update, its rate filtered from the updates
// that follow. When that first update is handled late — a busy machine — the line
// starts off, its rate swings hundreds of ppm to pull it back, and the report is
// milliseconds away from the sound for the next ~15 s, moving all the while; a player
// that follows it plays that far off. Logged beside recordings of the sink (README,
// "Sync where the listener hears it"): the starts whose readings ran 400 ppm or more
// off the nominal rate between 0.3 and 1.3 s after the device started went 1.1–12 ms
// off; those below, within 0.95 ms but for two that met a late update later on. A
// device's clock runs within a few hundred ppm of nominal (the bench's null sink, which
// re-renders after rewinds, 300 ppm fast), so a player that sees more restarts the
// device (a new stream, a new interpolation) before anything is audible.

import { LineSums } from '../../firmware/util/line-sums.ts';

export interface ReportCheckOptions {
  /** readings from this long after the first... (default 0.3 s: the interpolation's first rate update) */
  fromS?: number;
  /** ...to this long are judged (default 1.3 s) */
  toS?: number;
  /** a rate this far or further from nominal fails the check, ppm (default 400) */
  maxPpm?: number;
}

/** pending: not enough readings yet; play: sane, or too few readings to judge; restart: the report is off */
export type ReportVerdict = 'pending' | 'play' | 'restart';

export class ReportCheck {
  private readonly rate: number;
  private readonly fromS: number;
  private readonly toS: number;
  private readonly maxPpm: number;
  private firstUs = Number.NaN;
  private firstConsumed = 0;
  /** (t, consumed − nominal·t) over the judged span */
  private readonly sums = new LineSums();
  private spanS = 0;

  constructor(rate: number, o: ReportCheckOptions = {}) {
    if (!(rate > 0)) throw new RangeError(`report check: rate must be positive, got ${rate}`);
    this.rate = rate;
    this.fromS = o.fromS ?? 0.3;
    this.toS = o.toS ?? 1.3;
    this.maxPpm = o.maxPpm ?? 400;
    if (!(this.toS > this.fromS && this.fromS >= 0)) throw new RangeError(`report check: need 0 ≤ fromS < toS, got ${this.fromS}…${this.toS}`);
  }

  /** A reading: `consumed` frames (written − delay) at monotonic time `atUs`. */
  observe(atUs: number, consumed: number): void {
    if (!Number.isFinite(atUs) || !Number.isFinite(consumed)) return;
    if (Number.isNaN(this.firstUs)) {
      this.firstUs = atUs;
      this.firstConsumed = consumed;
    }
    const t = (atUs - this.firstUs) / 1e6;
    this.spanS = Math.max(this.spanS, t);
    if (t < this.fromS || t > this.toS) return;
    this.sums.add({ t, y: consumed - this.firstConsumed - this.rate * t });
  }

  /** the readings' rate over the judged span against nominal, ppm (NaN until it is covered) */
  get ppm(): number {
    if (this.spanS < this.toS || this.sums.n < MIN_READINGS) return Number.NaN;
    return (this.sums.slope() / this.rate) * 1e6;
  }

  get verdict(): ReportVerdict {
    if (this.spanS < this.toS) return 'pending';
    const ppm = this.ppm;
    return Number.isNaN(ppm) || Math.abs(ppm) < this.maxPpm ? 'play' : 'restart';
  }
}

const MIN_READINGS = 10;
