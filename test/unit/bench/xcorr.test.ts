// The device-sync bench's offset estimator on synthetic signals whose offset is known.

import { expect } from 'chai';
import { correlate, fft, SilenceRuns, spectra } from '../../../test/bench/lib/xcorr.ts';

/** deterministic band-limited noise */
function noise(n: number, seed = 7): Float64Array {
  const x = new Float64Array(n);
  let s = seed;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    prev = 0.6 * (s / 2147483647 - 0.5) + 0.4 * prev;
    x[i] = prev;
  }
  return x;
}

/** B = A delayed by `delay` frames (fractional: linear interpolation of a smooth signal) */
function delayed(src: Float64Array, delay: number): Float64Array {
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const t = i - delay;
    const k = Math.floor(t);
    const f = t - k;
    out[i] = k >= 0 && k + 1 < src.length ? (1 - f) * src[k]! + f * src[k + 1]! : 0;
  }
  return out;
}

describe('device-sync offset estimator (windowed cross-correlation)', () => {
  it('fft then inverse fft gives the input back (scaled by n)', () => {
    const re = noise(64);
    const im = new Float64Array(64);
    const copy = Float64Array.from(re);
    fft(re, im);
    fft(re, im, true);
    for (let i = 0; i < 64; i++) expect(re[i]! / 64).to.be.closeTo(copy[i]!, 1e-12);
  });

  it('finds whole-frame offsets of either sign with ρ ≈ 1', () => {
    const W = 4800;
    const L = 960;
    const src = noise(W + 2 * L + 2000);
    for (const d of [0, 37, -211, 900]) {
      const a = src.subarray(1000, 1000 + W + 2 * L);
      const b = delayed(src, d).subarray(1000, 1000 + W + 2 * L);
      const r = correlate(spectra(Float64Array.from(a), W, L), spectra(Float64Array.from(b), W, L), W, L);
      expect(r.lag, `delay ${d}`).to.be.closeTo(d, 0.01);
      expect(r.rho).to.be.greaterThan(0.999);
    }
  });

  it('resolves a fraction of a frame by parabolic interpolation (within 0.15 frame)', () => {
    const W = 4800;
    const L = 480;
    const src = noise(W + 2 * L + 2000, 11);
    // smooth further so the linear-interpolated delay is close to a true fractional delay
    for (let i = 1; i < src.length; i++) src[i] = 0.5 * src[i]! + 0.5 * src[i - 1]!;
    for (const d of [0.25, 10.5, -3.7]) {
      const a = Float64Array.from(src.subarray(1000, 1000 + W + 2 * L));
      const b = Float64Array.from(delayed(src, d).subarray(1000, 1000 + W + 2 * L));
      expect(correlate(spectra(a, W, L), spectra(b, W, L), W, L).lag, `delay ${d}`).to.be.closeTo(d, 0.15);
    }
  });

  it('gives a low ρ for unrelated signals', () => {
    const W = 4800;
    const L = 480;
    const r = correlate(spectra(noise(W + 2 * L, 3), W, L), spectra(noise(W + 2 * L, 99), W, L), W, L);
    expect(r.rho).to.be.lessThan(0.2);
  });

  it('counts runs of exact zeros at least as long as asked, across chunks', () => {
    const runs = new SilenceRuns(96);
    runs.feed([1, ...Array(50).fill(0)]);
    runs.feed([...Array(60).fill(0), 5, ...Array(95).fill(0), 3, ...Array(200).fill(0)]);
    expect(runs.count).to.equal(2); // 110 and 200; the 95 is too short
    expect(runs.frames).to.equal(310);
    expect(runs.starts, 'where each run began').to.deep.equal([1, 51 + 60 + 1 + 95 + 1]);
  });
});
