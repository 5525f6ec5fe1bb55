// The capture clock's readings, taken from when reads return rather than from the delay
// report alone (ARCHITECTURE.md, "Live input").
//
// A capture device hands over frames as it captures them: the count read by the time a
// read returns is paced by the device's crystal. Some reads return late (the reader was
// busy), none early, so the earliest return for its count — the read whose count is
// furthest ahead of the nominal rate within a block of readings — lies on a line that
// runs at the device's rate, a fixed distance behind the capture. Measured at a
// PulseAudio monitor against a recording of the same sink, that envelope stayed within
// ±0.5 ms of the real capture for tens of seconds, while the delay report (libpulse's
// interpolation) moved by −8…+15 ms in steps; a capture clock fitted to the report ran
// up to its 1000 ppm limit for seconds after a start, and the resampling that followed
// it pulled the live input to and fro by milliseconds.
//
// So each block gives one point: its earliest read, placed by the median of the delays
// the device reported at such reads over the last `medianOf` blocks (the distance from
// the envelope to the capture, which the count alone cannot tell).
//
// Reads that find a backlog — more than `backlogUs` captured and not read: a stream's
// first half second on PulseAudio hands over ~150 ms at once, and a reader that was
// stalled finds the frames of its stall — return early, not on the envelope; their own
// report is then mostly the backlog, which is counted exactly. Such a reading is passed
// on as it is, and it neither joins a block nor the median.

export interface CapturePoint {
  atUs: number;
  /** frames read from the device by then */
  read: number;
  /** frames captured but not yet read, as the recent reports put it */
  delayFrames: number;
}

export interface ReadEnvelopeOptions {
  /** nominal frames per second */
  rate: number;
  /** one point per this span of readings (default 0.5 s) */
  blockUs?: number;
  /** the distance to the capture is the median of this many blocks' reports (default 40: 20 s) */
  medianOf?: number;
  /** a reading with more than this captured and not read found a backlog (default 50 ms) */
  backlogUs?: number;
}

export class ReadEnvelope {
  private readonly rate: number;
  private readonly blockUs: number;
  private readonly medianOf: number;
  private readonly backlogFrames: number;
  private readonly delays: number[] = [];
  private originUs = Number.NaN;
  private blockStartUs = Number.NaN;
  private best: { atUs: number; read: number; delayFrames: number; ahead: number } | null = null;

  constructor(o: ReadEnvelopeOptions) {
    if (!(o.rate > 0)) throw new RangeError(`read envelope: rate must be positive, got ${o.rate}`);
    this.rate = o.rate;
    this.blockUs = o.blockUs ?? 500_000;
    this.medianOf = Math.max(1, Math.round(o.medianOf ?? 40));
    this.backlogFrames = (o.rate * (o.backlogUs ?? 50_000)) / 1e6;
    if (!(this.blockUs > 0)) throw new RangeError(`read envelope: blockUs must be positive, got ${o.blockUs}`);
  }

  /**
   * A read returned at `atUs` with `read` frames read in all and the device reporting
   * `delayFrames` more captured. Returns a point for the clock at the end of each block
   * (and for the very first reading, so that the clock is ready at once), else null.
   */
  add(atUs: number, read: number, delayFrames: number): CapturePoint | null {
    if (!Number.isFinite(atUs) || !Number.isFinite(read)) return null;
    const delay = Number.isFinite(delayFrames) && delayFrames >= 0 ? delayFrames : 0;
    if (delay > this.backlogFrames) {
      // a backlog: this read came early; the block starts again after it
      this.originUs = Number.NaN;
      this.best = null;
      return { atUs, read, delayFrames: delay };
    }
    if (Number.isNaN(this.originUs)) {
      this.originUs = atUs;
      this.blockStartUs = atUs;
      return this.point({ atUs, read, delayFrames: delay });
    }
    const ahead = read - (this.rate * (atUs - this.originUs)) / 1e6;
    if (!this.best || ahead > this.best.ahead) this.best = { atUs, read, delayFrames: delay, ahead };
    if (atUs - this.blockStartUs < this.blockUs) return null;
    const best = this.best;
    this.best = null;
    this.blockStartUs = atUs;
    return this.point(best);
  }

  /** The device lost frames or restarted: the block under way no longer lines up (the reports' median is kept). */
  restart(): void {
    this.originUs = Number.NaN;
    this.best = null;
  }

  private point(best: { atUs: number; read: number; delayFrames: number }): CapturePoint {
    this.delays.push(best.delayFrames);
    if (this.delays.length > this.medianOf) this.delays.shift();
    return { atUs: best.atUs, read: best.read, delayFrames: median(this.delays) };
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
