// The capture instant of each sample a device delivers, from the readings taken at
// every read (see capture-source.ts for the model): instant(k) = offset + k / rate,
// with `offset` the lowest reading of a sliding window, because a reading can only
// come late (scheduling, a delay that moves in steps), never early.

export interface CaptureReading {
  atUs: number; // when the read returned (box clock)
  frameIndex: number; // the frame being digitized then: frames read so far + the device's delay
}

export class CaptureTiming {
  private readings: Array<{ atUs: number; offsetUs: number }> = []; // increasing offsets, oldest first
  private offsetUs = NaN;

  constructor(private readonly rate: number, private readonly windowUs = 1_000_000) {
    if (!(rate > 0)) throw new RangeError(`capture timing: rate must be > 0, got ${rate}`);
  }

  get known(): boolean {
    return !Number.isNaN(this.offsetUs);
  }

  add(r: CaptureReading): void {
    const offsetUs = r.atUs - (r.frameIndex * 1e6) / this.rate;
    if (!Number.isFinite(offsetUs)) return;
    // a monotonic queue: only readings lower than every later one can become the minimum
    while (this.readings.length && this.readings[this.readings.length - 1].offsetUs >= offsetUs) this.readings.pop();
    this.readings.push({ atUs: r.atUs, offsetUs });
    const oldest = r.atUs - this.windowUs;
    while (this.readings.length > 1 && this.readings[0].atUs < oldest) this.readings.shift();
    this.offsetUs = this.readings[0].offsetUs;
  }

  /** µs at which frame `index` entered the device (NaN before the first reading) */
  instantOf(index: number): number {
    return this.offsetUs + (index * 1e6) / this.rate;
  }

  /** the (fractional) frame index that entered at `us` */
  indexAt(us: number): number {
    return ((us - this.offsetUs) * this.rate) / 1e6;
  }

  reset(): void {
    this.readings = [];
    this.offsetUs = NaN;
  }
}
