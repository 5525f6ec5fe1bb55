// Offsets between two recorded channels by cross-correlation, window by window.
//
// A window of channel A (W frames) is correlated with channel B over lags of ±L
// frames through one FFT of each and one inverse (N ≥ W + 2L, so nothing wraps).
// The correlation at each lag is normalized by both windows' energies (ρ in −1…1),
// the peak refined to a fraction of a frame by a parabola through its neighbours.
// A positive offset means B plays the same sound LATER than A.

/** the rate of everything recorded and compared (the rig's PulseAudio server runs at it) */
export const RIG_RATE = 48000;

/** In-place iterative radix-2 FFT (re, im of length a power of two); inverse when `inverse`, unscaled. */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  if (im.length !== n || (n & (n - 1)) !== 0) throw new RangeError(`fft: re and im must have one power-of-two length (got ${n} and ${im.length})`);
  // every index below is < n, the length of both arrays
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < half; k++) {
        const p = start + k;
        const q = p + half;
        const tr = re[q]! * cr - im[q]! * ci;
        const ti = re[q]! * ci + im[q]! * cr;
        re[q] = re[p]! - tr;
        im[q] = im[p]! - ti;
        re[p] = re[p]! + tr;
        im[p] = im[p]! + ti;
        const ncr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = ncr;
      }
    }
  }
}

export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Spectra of one channel's window, computed once and shared by every pair that uses the channel. */
export interface WindowSpectra {
  /** the centre W frames, zero-padded: the "A" side */
  centreRe: Float64Array;
  centreIm: Float64Array;
  centreEnergy: number;
  /** W + 2L frames: the "B" side */
  fullRe: Float64Array;
  fullIm: Float64Array;
  /** prefix sums of squares over the W + 2L frames, for the B energy at each lag */
  prefix: Float64Array;
  rms: number;
}

/** `block` holds W + 2L frames of one channel; the window proper is block[L, L + W). */
export function spectra(block: Float64Array, windowFrames: number, maxLag: number): WindowSpectra {
  if (block.length < windowFrames + 2 * maxLag) throw new RangeError(`spectra: the block holds ${block.length} frames, W + 2L is ${windowFrames + 2 * maxLag}`);
  const n = nextPow2(windowFrames + 2 * maxLag);
  const centreRe = new Float64Array(n);
  const fullRe = new Float64Array(n);
  let centreEnergy = 0;
  for (let i = 0; i < windowFrames; i++) {
    const v = block[maxLag + i]!; // maxLag + i < W + 2L <= block.length (checked above)
    centreRe[i] = v;
    centreEnergy += v * v;
  }
  fullRe.set(block.subarray(0, windowFrames + 2 * maxLag));
  const prefix = new Float64Array(block.length + 1);
  for (let i = 0; i < block.length; i++) prefix[i + 1] = prefix[i]! + block[i]! * block[i]!;
  const centreIm = new Float64Array(n);
  const fullIm = new Float64Array(n);
  fft(centreRe, centreIm);
  fft(fullRe, fullIm);
  return { centreRe, centreIm, centreEnergy, fullRe, fullIm, prefix, rms: Math.sqrt(centreEnergy / windowFrames) };
}

export interface LagEstimate {
  /** frames, fractional: B's copy of A's window starts this much later */
  lag: number;
  /** normalized correlation at the peak */
  rho: number;
}

/** Peak of the normalized cross-correlation of A's centre against B's full block. */
export function correlate(a: WindowSpectra, b: WindowSpectra, windowFrames: number, maxLag: number): LagEstimate {
  const n = a.centreRe.length;
  if (b.fullRe.length !== n || b.prefix.length < windowFrames + 2 * maxLag + 1) {
    throw new RangeError(`correlate: spectra of different sizes (${n} and ${b.fullRe.length}) or too short for W + 2L`);
  }
  // below, i < n and k + windowFrames <= W + 2L: every index is inside the arrays it reads
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // conj(A) · B: r[k] = Σ a[i] b[i + k]
    re[i] = a.centreRe[i]! * b.fullRe[i]! + a.centreIm[i]! * b.fullIm[i]!;
    im[i] = a.centreRe[i]! * b.fullIm[i]! - a.centreIm[i]! * b.fullRe[i]!;
  }
  fft(re, im, true);
  const rho = new Float64Array(2 * maxLag + 1);
  let best = 0;
  for (let k = 0; k <= 2 * maxLag; k++) {
    const eb = b.prefix[k + windowFrames]! - b.prefix[k]!;
    const denom = Math.sqrt(a.centreEnergy * eb);
    const rhoK = denom > 0 ? re[k]! / n / denom : 0;
    rho[k] = rhoK;
    if (rhoK > rho[best]!) best = k;
  }
  let frac = 0;
  if (best > 0 && best < 2 * maxLag) {
    const [l, c, r] = [rho[best - 1]!, rho[best]!, rho[best + 1]!];
    const curve = l - 2 * c + r;
    if (curve < 0) frac = Math.max(-0.5, Math.min(0.5, (0.5 * (l - r)) / curve));
  }
  return { lag: best + frac - maxLag, rho: rho[best]! };
}

/** Runs of exact digital silence at least `minFrames` long, tracked across consecutive windows of one channel. */
export class SilenceRuns {
  private run = 0;
  private inDropout = false;
  private fed = 0; // frames fed so far
  count = 0;
  frames = 0;
  /** where each run began, in frames from the first frame fed */
  readonly starts: number[] = [];
  constructor(private minFrames: number) {}

  feed(samples: ArrayLike<number>): void {
    for (let i = 0; i < samples.length; i++) {
      if (samples[i] === 0) {
        this.run++;
        if (this.run === this.minFrames) {
          this.count++;
          this.frames += this.minFrames;
          this.inDropout = true;
          this.starts.push(this.fed + i + 1 - this.minFrames);
        } else if (this.inDropout) this.frames++;
      } else {
        this.run = 0;
        this.inDropout = false;
      }
    }
    this.fed += samples.length;
  }
}
