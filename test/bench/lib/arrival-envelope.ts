// When recorded frames reached the recorder, from when each read of them arrived.
//
// A read's arrival time is an upper bound for when its last frame was captured: the
// reader (parec, then the event loop) can only hand it over later, never earlier, and
// on a busy machine tens of milliseconds later. Each read gives an origin — the instant
// frame 0 would have been captured at the nominal rate — and the earliest origin among
// the reads just after a frame places that frame; over half a second a recording
// device's clock departs from the nominal rate by well under 0.5 ms.

export class ArrivalEnvelope {
  private readonly ends: number[] = [];
  private readonly origins: number[] = [];
  private readonly frameUs: number;

  constructor(
    rate: number,
    private readonly windowFrames = rate / 2,
  ) {
    this.frameUs = 1e6 / rate;
  }

  /** A read that ends at frame `end` (frames received so far) arrived at `atUs`; returns its origin. */
  add(end: number, atUs: number): number {
    const origin = atUs - end * this.frameUs;
    this.ends.push(end);
    this.origins.push(origin);
    return origin;
  }

  /** The instant of frame 0 as the reads ending within the window after frame `i` place it (the last read's beyond them; NaN before any read). */
  originAt(i: number): number {
    const { ends, origins } = this;
    let lo = 0;
    let hi = ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ends[mid]! < i)
        lo = mid + 1; // mid < ends.length
      else hi = mid;
    }
    let best = Infinity;
    for (let k = lo; k < ends.length && ends[k]! <= i + this.windowFrames; k++) best = Math.min(best, origins[k]!);
    if (best === Infinity) best = origins.at(-1) ?? NaN;
    return best;
  }

  /** the instant frame `i` was captured */
  timeOf(i: number): number {
    return this.originAt(i) + i * this.frameUs;
  }
}
