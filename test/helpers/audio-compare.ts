// Comparing what a player wrote with the source: exact alignment for PCM,
// correlation for lossy codecs.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { itemAt } from '../../firmware/util/checked-index.ts';

/** ffmpeg's own decode of a file, as the box's stream format (s16le, 48 kHz, stereo). */
export function ffmpegDecode(file: string): Int16Array {
  const out = execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-i', file, '-f', 's16le', '-acodec', 'pcm_s16le', '-ac', '2', '-ar', '48000', '-'], {
    maxBuffer: 1 << 28,
  });
  return new Int16Array(out.buffer, out.byteOffset, out.length >> 1);
}

export function readRaw(file: string): Int16Array {
  const b = readFileSync(file);
  const copy = new Uint8Array(b.length - (b.length % 4));
  copy.set(b.subarray(0, copy.length));
  return new Int16Array(copy.buffer);
}

/** Index of the first sample whose magnitude exceeds `threshold`. */
export function firstSound(x: Int16Array, threshold = 64): number {
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]!) > threshold) return i;
  return -1;
}

/**
 * Where `out[start...]` sits in `ref`, by an exact match of `probe` interleaved samples.
 * Returns the reference index matching out[start], or -1.
 */
export function exactAlign(ref: Int16Array, out: Int16Array, start: number, probe = 256): number {
  if (start < 0 || start + probe > out.length) return -1;
  outer: for (let r = 0; r + probe <= ref.length; r += 2) {
    if (ref[r] !== out[start]) continue;
    for (let k = 1; k < probe; k++) if (ref[r + k] !== out[start + k]) continue outer;
    return r;
  }
  return -1;
}

/**
 * exactAlign from `start`, or from a little later when a probe happens to straddle
 * one of the player's single-frame corrections (frequent while it settles): up to
 * `tries` probes, `stepFrames` apart. Returns where it matched in both.
 */
export function alignNear(ref: Int16Array, out: Int16Array, start: number, tries = 20, stepFrames = 480): { at: number; start: number } {
  for (let k = 0; k < tries; k++) {
    const from = start + k * stepFrames * 2;
    const at = exactAlign(ref, out, from);
    if (at >= 0) return { at, start: from };
  }
  return { at: -1, start };
}

/**
 * Compares out against ref frame by frame (stereo s16), allowing the player's
 * soft corrections: where a frame does not match, the alignment may move by up to
 * `slack` frames (a frame dropped or repeated) if the next `confirm` frames then
 * match exactly. Returns the frames compared, the realignments (corrections seen)
 * and the frames that matched no nearby alignment.
 */
export function matchWithCorrections(
  ref: Int16Array,
  rStart: number,
  out: Int16Array,
  oStart: number,
  frames: number,
  slack = 2,
  confirm = 32,
): { compared: number; realignments: number; unmatched: number } {
  let shift = rStart - oStart; // ref sample index − out sample index
  let realignments = 0;
  let unmatched = 0;
  const same = (o: number, sh: number) => o + sh >= 0 && o + sh + 1 < ref.length && ref[o + sh] === out[o] && ref[o + sh + 1] === out[o + 1];
  const holds = (o: number, sh: number) => {
    for (let k = 0; k < confirm; k++) if (!same(o + 2 * k, sh)) return false;
    return true;
  };
  let f = 0;
  for (; f < frames; f++) {
    const o = oStart + 2 * f;
    if (o + 1 >= out.length) break;
    if (same(o, shift)) continue;
    let moved = false;
    for (let d = 1; d <= slack && !moved; d++) {
      for (const sh of [shift + 2 * d, shift - 2 * d]) {
        if (holds(o, sh)) {
          shift = sh;
          realignments++;
          moved = true;
          break;
        }
      }
    }
    if (!moved) unmatched++;
  }
  return { compared: f, realignments, unmatched };
}

function mono(x: Int16Array, from: number, frames: number): Float64Array {
  const m = new Float64Array(frames);
  for (let i = 0; i < frames; i++) m[i] = (itemAt(x, (from + i) * 2, 'recording') + itemAt(x, (from + i) * 2 + 1, 'recording')) / 2;
  return m;
}

export function correlation(a: Float64Array, b: Float64Array): number {
  if (b.length < a.length) throw new RangeError(`correlation: the second signal has ${b.length} samples, the first ${a.length}`);
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!; // i < a.length <= b.length
    const y = b[i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa && bb ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * Best lag (in frames) of out's window [outFrame, outFrame+frames) within ref:
 * coarse on the 1 kHz loudness envelope (the test music's loudness wanders at
 * incommensurate rates, so the envelope lines up in one place only), then at full
 * rate within ±4 envelope blocks. Returns {refFrame, r}.
 */
export function bestAlignment(ref: Int16Array, out: Int16Array, outFrame: number, frames: number): { refFrame: number; r: number } {
  const B = 48;
  const refM = mono(ref, 0, ref.length / 2);
  const outM = mono(out, outFrame, frames);
  const dec = (m: Float64Array) => {
    const d = new Float64Array(Math.floor(m.length / B));
    for (let i = 0; i < d.length; i++) {
      let s = 0;
      for (let k = 0; k < B; k++) s += Math.abs(m[i * B + k]!);
      d[i] = s;
    }
    return d;
  }; // i * B + k < d.length * B <= m.length
  const refD = dec(refM),
    outD = dec(outM);
  const coarse: Array<{ lag: number; r: number }> = [];
  for (let lag = 0; lag + outD.length <= refD.length; lag++) coarse.push({ lag, r: correlation(outD, refD.subarray(lag, lag + outD.length)) });
  // the envelope can look alike in a few places: refine the best few distinct peaks at full rate
  const candidates: number[] = [];
  for (const c of coarse.sort((a, b) => b.r - a.r)) {
    if (candidates.every((l) => Math.abs(l - c.lag) > 20)) candidates.push(c.lag);
    if (candidates.length === 8) break;
  }
  let fine = -2,
    fineFrame = 0;
  for (const lag of candidates) {
    for (let f = Math.max(0, lag * B - 8 * B); f <= Math.min(refM.length - frames, lag * B + 8 * B); f++) {
      const r = correlation(outM, refM.subarray(f, f + frames));
      if (r > fine) {
        fine = r;
        fineFrame = f;
      }
    }
  }
  return { refFrame: fineFrame, r: fine };
}

/**
 * Correlation of consecutive windows of out against ref, each window re-aligned
 * within ±`slack` frames of where the previous one ended, so that a player's
 * inaudible single-frame corrections do not read as a mismatch.
 */
export function windowedCorrelation(ref: Int16Array, out: Int16Array, outFrame: number, windowFrames: number, count: number, slack = 48, refFrames?: number[]): number[] {
  // anchor on a long stretch (a short window's envelope can match in several places)
  const anchor = bestAlignment(ref, out, outFrame, Math.max(windowFrames, 48000));
  const refM = mono(ref, 0, ref.length / 2);
  const rs: number[] = [];
  let expected = anchor.refFrame;
  for (let w = 0; w < count; w++) {
    const from = outFrame + w * windowFrames;
    if ((from + windowFrames) * 2 > out.length) break;
    if (expected - slack > refM.length - windowFrames) break; // the output has run past the end of the reference
    const o = mono(out, from, windowFrames);
    let best = -2,
      at = expected;
    for (let f = Math.max(0, expected - slack); f <= Math.min(refM.length - windowFrames, expected + slack); f++) {
      const r = correlation(o, refM.subarray(f, f + windowFrames));
      if (r > best) {
        best = r;
        at = f;
      }
    }
    rs.push(best);
    refFrames?.push(at); // where in the reference each window matched best (for a failure's message)
    expected = at + windowFrames;
  }
  return rs;
}

/**
 * How much of out's window [outFrame, outFrame+frames) (mono mix) is a sine at `hz`:
 * the correlation with the best-phased sine of that frequency (1: a pure tone at hz,
 * near 0: silence or another frequency).
 */
export function toneMatch(out: Int16Array, outFrame: number, frames: number, hz: number, sampleRate = 48000): number {
  const m = mono(out, outFrame, frames);
  let s = 0,
    c = 0,
    energy = 0;
  for (let i = 0; i < m.length; i++) {
    const w = (2 * Math.PI * hz * i) / sampleRate;
    const x = m[i] ?? 0;
    s += x * Math.sin(w);
    c += x * Math.cos(w);
    energy += x * x;
  }
  return energy > 0 ? Math.sqrt(s * s + c * c) / Math.sqrt(energy * (m.length / 2)) : 0;
}
