// Which source-stream frame each device frame carries: the bookkeeping that turns
// "device frame n left the DAC at t" (what a sound card or the virtual DAC can
// tell) into "stream frame s left at t", the figure sync is measured by.
//
// Kept as runs of consecutive frames (a run breaks at every soft correction,
// resync, underrun or block discontinuity), bounded to the most recent runs.

import type { SourcePiece } from './jitter-buffer.ts';

interface Run {
  dev: number; // first device frame (0 = first frame written since open)
  src: number; // source frame carried by it; NaN = silence
  n: number;
}

export class OutputMap {
  private runs: Run[] = [];
  private head = 0; // runs before it are forgotten
  private written = 0;

  constructor(private readonly maxRuns = 50_000) {}

  /** Device frames accounted for (written to the sink) since the last reset. */
  get framesWritten(): number {
    return this.written;
  }

  reset(): void {
    this.runs = [];
    this.head = 0;
    this.written = 0;
  }

  /** `n` device frames carrying nothing from the stream (lead-in, resync or underrun silence). */
  silence(n: number): void {
    this.append(NaN, n);
  }

  /**
   * A written block made of `spans`: `n` output frames taken in order from read
   * position `pos` of a read described by `pieces` (a dropped or repeated frame
   * makes a block more than one span).
   */
  block(spans: Array<{ pos: number; n: number }>, pieces: SourcePiece[]): void {
    for (const s of spans) {
      let pos = s.pos;
      const end = s.pos + s.n;
      while (pos < end) {
        const p = pieces.find((q) => pos >= q.pos && pos < q.pos + q.n);
        if (!p) {
          this.append(NaN, end - pos);
          break;
        }
        const n = Math.min(end, p.pos + p.n) - pos;
        this.append(p.source + (pos - p.pos), n);
        pos += n;
      }
    }
  }

  private append(src: number, n: number): void {
    if (n <= 0) return;
    const last = this.runs[this.runs.length - 1];
    const contiguous = last && this.runs.length > this.head && (Number.isNaN(src) ? Number.isNaN(last.src) : last.src + last.n === src);
    if (contiguous) last.n += n;
    else this.runs.push({ dev: this.written, src, n });
    this.written += n;
    if (this.runs.length - this.head > this.maxRuns) this.head++;
    if (this.head > 4096) {
      this.runs = this.runs.slice(this.head);
      this.head = 0;
    }
  }

  /** Source frame carried by device frame `dev`; NaN for silence or unknown. */
  sourceOf(dev: number): number {
    let lo = this.head;
    let hi = this.runs.length - 1;
    // head <= lo <= hi < runs.length throughout, so every read below is in range
    if (hi < lo || dev < this.runs[lo]!.dev || dev >= this.written) return NaN;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid]!.dev <= dev) lo = mid;
      else hi = mid - 1;
    }
    const r = this.runs[lo]!;
    return r.src + (dev - r.dev);
  }

  /** The latest device frame that carried source frame `src`; NaN if none is remembered. */
  deviceFrameOf(src: number): number {
    for (let i = this.runs.length - 1; i >= this.head; i--) {
      const r = this.runs[i]!;
      if (src >= r.src && src < r.src + r.n) return r.dev + (src - r.src);
    }
    return NaN;
  }
}
