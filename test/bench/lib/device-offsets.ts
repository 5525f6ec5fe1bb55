// What the recording of a PulseAudio rig says about the players: for every pair of
// channels, the offset between them in consecutive windows (./xcorr.ts), grouped
// by the phase of the run each window falls in; for every channel, its first
// audible frame and its dropouts (runs of digital silence inside the played region).

import { summarize, type Summary } from './report.ts';
import type { MonitorRecorder } from './pulse-rig.ts';
import { correlate, RIG_RATE, SilenceRuns, spectra, type WindowSpectra } from './xcorr.ts';
import { itemAt } from '../../../firmware/util/checked-index.ts';

export interface Phase {
  name: string;
  fromUs: number;
  toUs: number;
}

export interface OffsetOptions {
  /** window length, ms (≤ 500) */
  windowMs?: number;
  /** largest offset looked for, ms */
  maxLagMs?: number;
  /** windows whose peak correlation is lower are rejected (and counted: a collapse) */
  minRho?: number;
  /** windows quieter than this RMS (full scale 1) in either channel are rejected as silent */
  silenceRms?: number;
  /** a run of exact zeros at least this long inside the played region is a dropout */
  dropoutMs?: number;
  /** statistics start this long after the later first audible sample of the players analysed */
  settleMs?: number;
  /** stop analysing at this frame (default: the end of the recording) */
  toFrame?: number;
  /** named spans of monotonic time; a window belongs to the phase holding its centre */
  phases?: Phase[];
  /**
   * virtual channels that pairs may name besides the players: samples (full scale 1)
   * for recording frames [from, from + count), e.g. the box's schedule (./schedule-probe.ts)
   */
  references?: Record<string, (from: number, count: number) => Float64Array>;
}

export interface PhaseStats extends Summary {
  /** mean signed offset, ms (B later than A is positive) */
  meanMs: number;
  silent: number;
  lowCorrelation: number;
}

export interface PairResult {
  a: string;
  b: string;
  byPhase: Record<string, PhaseStats>;
  all: PhaseStats;
  /** every window: seconds since the recording began, signed offset ms (NaN when rejected), peak correlation */
  windows: Array<[number, number, number]>;
}

export interface OffsetReport {
  windowMs: number;
  fromFrame: number;
  toFrame: number;
  firstAudible: Record<string, number | null>;
  /** runs of digital silence: how many, how long in all, and where each began (s into the recording) */
  dropouts: Record<string, { count: number; ms: number; atS: number[] }>;
  pairs: PairResult[];
}

/** First frame of each channel louder than `level` (full scale 1); null when never. */
export function firstAudible(rec: MonitorRecorder, level = 0.01): Array<number | null> {
  const found: Array<number | null> = Array(rec.channels).fill(null);
  const step = RIG_RATE / 2;
  const end = rec.frames();
  const threshold = level * 32768;
  for (let f = 0; f < end && found.includes(null); f += step) {
    const s = rec.read(f, step);
    for (let c = 0; c < rec.channels; c++) {
      if (found[c] !== null) continue;
      for (let i = c; i < s.length; i += rec.channels)
        if (Math.abs(s[i]!) > threshold) {
          found[c] = f + (i - c) / rec.channels;
          break;
        }
    }
  }
  return found;
}

export function analyseOffsets(
  rec: MonitorRecorder,
  players: string[],
  channelOf: (player: string) => number,
  pairs: Array<[string, string]>,
  o: OffsetOptions = {},
): OffsetReport {
  const windowMs = Math.min(500, o.windowMs ?? 500);
  const W = Math.round((windowMs * RIG_RATE) / 1000);
  const L = Math.round(((o.maxLagMs ?? 200) * RIG_RATE) / 1000);
  const minRho = o.minRho ?? 0.5;
  const silence = o.silenceRms ?? 1e-3;
  const firsts = firstAudible(rec);
  const firstOf = Object.fromEntries(players.map((p) => [p, itemAt(firsts, channelOf(p), 'first audible frames')]));
  const heard = players.map((p) => firstOf[p]).filter((f): f is number => f !== null);
  const fromFrame = Math.max(L, Math.ceil((heard.length ? Math.max(...heard) : 0) + ((o.settleMs ?? 2000) * RIG_RATE) / 1000));
  const toFrame = Math.min(o.toFrame ?? Infinity, rec.frames() - L);
  const runs = new Map(players.map((p) => [p, new SilenceRuns(Math.round(((o.dropoutMs ?? 2) * RIG_RATE) / 1000))]));
  const phaseOf = (frame: number) =>
    o.phases?.find((ph) => {
      const t = rec.timeOfFrame(frame);
      return t >= ph.fromUs && t < ph.toUs;
    })?.name ?? 'all';
  const raw = new Map(pairs.map(([a, b]) => [`${a}|${b}`, { a, b, windows: [] as Array<[number, number, number]>, phase: [] as string[], status: [] as string[] }]));
  const block = new Float64Array(W + 2 * L);
  for (let w = fromFrame; w + W <= toFrame; w += W) {
    const s = rec.read(w - L, W + 2 * L);
    if (s.length < (W + 2 * L) * rec.channels) break;
    const cache = new Map<string, WindowSpectra>();
    const spectraOf = (p: string) => {
      let sp = cache.get(p);
      if (!sp) {
        const ref = o.references?.[p];
        if (ref) block.set(ref(w - L, W + 2 * L));
        else {
          const c = channelOf(p);
          for (let i = 0; i < W + 2 * L; i++) block[i] = s[i * rec.channels + c]! / 32768; // s holds W + 2L frames (checked above)
        }
        sp = spectra(block, W, L);
        cache.set(p, sp);
      }
      return sp;
    };
    for (const p of players) {
      const c = channelOf(p);
      const centre = new Int16Array(W);
      for (let i = 0; i < W; i++) centre[i] = s[(L + i) * rec.channels + c]!; // L + i < W + 2L frames, all in s
      runs.get(p)!.feed(centre);
    }
    const phase = phaseOf(w + W / 2);
    const t = (w + W / 2) / RIG_RATE;
    for (const r of raw.values()) {
      const A = spectraOf(r.a);
      const B = spectraOf(r.b);
      if (A.rms < silence || B.rms < silence) {
        r.windows.push([t, NaN, 0]);
        r.phase.push(phase);
        r.status.push('silent');
        continue;
      }
      const est = correlate(A, B, W, L);
      const ok = est.rho >= minRho;
      r.windows.push([round(t, 3), ok ? round((est.lag * 1000) / RIG_RATE, 4) : NaN, round(est.rho, 3)]);
      r.phase.push(phase);
      r.status.push(ok ? 'ok' : 'low');
    }
  }
  const stats = (idx: number[], r: { windows: Array<[number, number, number]>; status: string[] }): PhaseStats => {
    const good = idx.filter((i) => r.status[i] === 'ok').map((i) => itemAt(r.windows, i, 'correlation windows')[1]);
    return {
      ...summarize(good.map(Math.abs)),
      meanMs: good.length ? good.reduce((x, y) => x + y, 0) / good.length : NaN,
      silent: idx.filter((i) => r.status[i] === 'silent').length,
      lowCorrelation: idx.filter((i) => r.status[i] === 'low').length,
    };
  };
  return {
    windowMs,
    fromFrame,
    toFrame,
    firstAudible: firstOf,
    dropouts: Object.fromEntries(
      players.map((p) => {
        const r = runs.get(p)!;
        return [p, { count: r.count, ms: round((r.frames * 1000) / RIG_RATE, 1), atS: r.starts.map((f) => round((fromFrame + f) / RIG_RATE, 2)) }];
      }),
    ),
    pairs: [...raw.values()].map((r) => {
      const names = [...new Set(r.phase)];
      const all = r.windows.map((_, i) => i);
      return {
        a: r.a,
        b: r.b,
        windows: r.windows,
        all: stats(all, r),
        byPhase: Object.fromEntries(
          names.map((n) => [
            n,
            stats(
              all.filter((i) => r.phase[i] === n),
              r,
            ),
          ]),
        ),
      };
    }),
  };
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
