// The capture instant of each sample a device delivers, from the readings taken at
// every read (see capture-source.ts for the model): instant(k) = offset + k / rate,
// with `offset` a low quantile of the readings of a sliding window. A reading mostly
// comes late (a thread scheduled late, a delay that moves in fragment-sized steps),
// now and then early (a sound server that overstates its delay for a moment): the
// lowest quarter skips the late ones without resting on a single early one.

export interface CaptureReading {
  atUs: number; // when the read returned (box clock)
  frameIndex: number; // the frame being digitized then: frames read so far + the device's delay
}

export interface CaptureTimingOptions {
  windowUs?: number; // readings this recent count (default 2 s)
  quantile?: number; // the offset is this quantile of them (default 0.25)
}

export class CaptureTiming {
  private readonly windowUs: number;
  private readonly quantile: number;
  private byTime: Array<{ atUs: number; offsetUs: number }> = [];
  private sorted: number[] = []; // the same offsets, ascending
  private offsetUs = NaN;

  constructor(private readonly rate: number, opts: CaptureTimingOptions = {}) {
    if (!(rate > 0)) throw new RangeError(`capture timing: rate must be > 0, got ${rate}`);
    this.windowUs = opts.windowUs ?? 2_000_000;
    this.quantile = opts.quantile ?? 0.25;
  }

  get known(): boolean {
    return !Number.isNaN(this.offsetUs);
  }

  add(r: CaptureReading): void {
    const offsetUs = r.atUs - (r.frameIndex * 1e6) / this.rate;
    if (!Number.isFinite(offsetUs)) return;
    this.byTime.push({ atUs: r.atUs, offsetUs });
    this.sorted.splice(this.insertAt(offsetUs), 0, offsetUs);
    const oldest = r.atUs - this.windowUs;
    while (this.byTime.length > 1 && this.byTime[0].atUs < oldest) {
      const gone = this.byTime.shift()!.offsetUs;
      this.sorted.splice(this.insertAt(gone), 1);
    }
    this.offsetUs = this.sorted[Math.floor((this.sorted.length - 1) * this.quantile)];
  }

  /** µs at which frame `index` entered the device (NaN before the first reading) */
  instantOf(index: number): number {
    return this.offsetUs + (index * 1e6) / this.rate;
  }

  /** the (fractional) frame index that entered at `us` */
  indexAt(us: number): number {
    return ((us - this.offsetUs) * this.rate) / 1e6;
  }

  /** first position in `sorted` whose value is ≥ v (binary search) */
  private insertAt(v: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
