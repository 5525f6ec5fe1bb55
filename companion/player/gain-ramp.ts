// Software volume for the playout scheduler.

/**
 * Software volume. Gain = (volume/100)² approximates loudness perception; changes
 * ramp linearly (full scale over the ramp length) so they never click. At unity
 * the samples pass through untouched (bit-exact).
 */
export class GainRamp {
  volume = 100;
  muted = false;
  private cur = 1;
  private target = 1;
  private readonly step: number;

  constructor(
    private readonly ch: number,
    rampFrames: number,
  ) {
    this.step = 1 / Math.max(1, rampFrames);
  }

  set(volume: number, muted: boolean): void {
    if (!Number.isFinite(volume) || volume < 0 || volume > 100) throw new RangeError(`volume must be within 0..100, got ${volume}`);
    this.volume = volume;
    this.muted = muted;
    this.target = muted ? 0 : (volume / 100) ** 2;
  }

  /** Jumps to the target gain (no ramp): for the initial setting, before any sound. */
  settle(): void {
    this.cur = this.target;
  }

  /** Applies the gain in place and returns the same array. */
  apply(pcm: Int16Array): Int16Array {
    if (this.cur === this.target) {
      if (this.cur === 1) return pcm;
      if (this.cur === 0) return pcm.fill(0);
    }
    const ch = this.ch;
    for (let i = 0; i < pcm.length; i += ch) {
      if (this.cur !== this.target) {
        this.cur = this.cur < this.target ? Math.min(this.target, this.cur + this.step) : Math.max(this.target, this.cur - this.step);
      }
      const frameEnd = Math.min(i + ch, pcm.length);
      for (let j = i; j < frameEnd; j++) pcm[j] = Math.round(pcm[j]! * this.cur);
    }
    return pcm;
  }
}
